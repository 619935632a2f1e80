/* cli_main.c — rt_trainer_main: the command line of a built trainer.
 *
 * `PROG COMMAND [OPTIONS] [FILE...]`.  Each command has a table of options; `train`
 * also takes every train setting as an option, named after its key with '.' and '_' as
 * '-' (--weight-decay, --schedule-t-max, --augment-flip / --no-augment-flip).  Options
 * are GNU style: --name VALUE or --name=VALUE, -h/--help anywhere, "--" ends them.  An
 * unknown option gets a did-you-mean, a bad value its reason; both exit 2.
 *
 * Before anything else the program may re-execute itself: Debian's OpenBLAS picks its
 * kernels when it loads, from OPENBLAS_CORETYPE, and on CPUs it does not know (Zen 5)
 * falls back to AVX2 kernels at half the speed of its SkylakeX (AVX-512) ones.  So on an
 * AVX-512 CPU with OPENBLAS_CORETYPE unset we set it and exec /proc/self/exe again
 * (NETC_NO_REEXEC=1 turns this off). */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "rt_trainer.h"
#include "../../common/suggest.h"

static int cmd_train(const rt_model *m, const rt_cli_args *a);

static const cli_option train_options[] = {
    { "out", "CKPT", "the checkpoint, written after every epoch (default MODEL.ckpt); the log is CKPT.csv" },
    { "resume", "CKPT", "continue the run CKPT holds, exactly where it stopped" },
    { "init-from", "NPZ", "start from the weights in NPZ (as written by export)" },
    { "save-every", "N", "also write the checkpoint every N optimizer steps" },
    { "quiet", NULL, "no header lines; only the epoch lines and the result" },
};
static const cli_option eval_options[] = {
    { "ckpt", "CKPT", "the checkpoint to evaluate (required)" },
    { "data", "DIR", "the data directory (default: the one it was trained on)" },
    { "split", "SPLIT", "test (default), train or valid: the examples to evaluate" },
    { "limit", "N", "only the split's first N examples (default: all)" },
    { "mixup", "ALPHA", "evaluate a MixUp'ed copy: one lambda ~ Beta(ALPHA, ALPHA) a pair" },
    { "seed", "N", "the seed of augmentation and mixing (default: the checkpoint's)" },
};
static const cli_option predict_options[] = {
    { "ckpt", "CKPT", "the checkpoint to predict with (required)" },
    { "top", "K", "print the K most likely classes (default 3)" },
    { "split", "SPLIT", "predict every example of test, train or valid instead of FILEs: a CSV" },
    { "data", "DIR", "with --split: the data directory (default: the one it was trained on)" },
    { "output", "FILE", "with --split: the CSV to write (-o FILE; default: standard output)" },
    { "limit", "N", "with --split: only its first N examples (default: all)" },
};
static const cli_option export_options[] = {
    { "ckpt", "CKPT", "the checkpoint to read (required)" },
    { "npz", "FILE", "the .npz to write (required)" },
};
static const cli_option schedule_options[] = {
    { "steps-per-epoch", "S", "batches an epoch (default: as training on the data would take)" },
};
static const cli_option info_options[] = {
    { "ckpt", "CKPT", "describe this checkpoint: position, settings, sections with checksums" },
};

#define NOPT(a) ((int)(sizeof a / sizeof a[0]))
static const cli_command commands[] = {
    { "train", "train [OPTIONS]", "train the model; a checkpoint after every epoch", train_options, NOPT(train_options), "", 0,
      cmd_train,
      "Settings default to the model's train section; options override them.  Ctrl-C (SIGINT) or\n"
      "SIGTERM finishes the current batch, saves a checkpoint and exits 130 (143); --resume CKPT\n"
      "then continues bit for bit as if never stopped.  --epochs counts all epochs, resumed ones\n"
      "included." },
    { "eval", "eval --ckpt CKPT [--data DIR] [--split test|train|valid] [--limit N] [--augment-... X] [--mixup ALPHA]",
      "evaluate a checkpoint: loss, accuracy, confusion matrix", eval_options, NOPT(eval_options), "augment.", 0,
      rt_cmd_eval,
      "The augment options transform every image evaluated (none by default, whatever the\n"
      "checkpoint trained with), and --mixup mixes pairs of them: the loss is then against the\n"
      "mixed labels, the accuracy against the label weighing more.  Both are seeded (--seed),\n"
      "so a result repeats." },
    { "predict", "predict --ckpt CKPT [--top K] FILE...  |  predict --ckpt CKPT --split SPLIT [--data DIR] [--limit N] [-o FILE]",
      "classify images, or a whole split, with a checkpoint", predict_options, NOPT(predict_options), 0, 1,
      rt_cmd_predict,
      "FILE is a PGM (P2/P5) or PNG (gray or RGB) image of the model's input size (or of the\n"
      "training images' size), or IDXFILE:INDEX for one image of an IDX images file.\n"
      "With --split, the split's data file is read once and every example classified in batches:\n"
      "a CSV with a header and a row per example, index,label,class1,prob1,...,classK,probK\n"
      "(index into the split's file, most likely class first).  The test split reads only the\n"
      "test files." },
    { "export", "export --ckpt CKPT --npz FILE", "write a checkpoint's weights as .npz (PyTorch names and shapes)",
      export_options, NOPT(export_options), 0, 0, rt_cmd_export, NULL },
    { "schedule", "schedule [--epochs N] [--steps-per-epoch S] [SETTINGS]",
      "print the learning rate of each step or epoch", schedule_options, NOPT(schedule_options), "", 0,
      rt_cmd_schedule,
      "CSV on stdout: epoch,step,lr (both from 1), a line per optimizer step when the schedule\n"
      "counts steps, else a line per epoch.  The settings are the model's, with the options'\n"
      "overrides, as train takes them (--schedule-t-0 250 --schedule-unit step ...)." },
    { "info", "info [--ckpt CKPT]", "describe the model, or a checkpoint", info_options, NOPT(info_options), 0, 0,
      rt_cmd_info, NULL },
    /* plot has kinds, each a command of its own (cli_plot.c): rt_cmd_plot parses them */
    { "plot", "plot KIND [OPTIONS]", "draw curves, confusion, samples, errors, weights or filters as PNG or SVG", NULL, 0,
      NULL, 0, NULL, NULL },
};
#define NCOMMANDS NOPT(commands)

/* The train setting that option `name` of command c sets, or NULL. */
static const setting_spec *command_setting(const cli_command *c, const char *name)
{
    const setting_spec *e = c->settings ? rt_config_find(name) : NULL;
    return e && !strncmp(e->key, c->settings, strlen(c->settings)) ? e : NULL;
}

const char *rt_cli_get(const rt_cli_args *a, const char *name)
{
    for (int i = a->ngiven - 1; i >= 0; i--)
        if (!strcmp(a->given[i].name, name))
            return a->given[i].value;
    return NULL;
}

int rt_cli_whole(const rt_cli_args *a, const char *cmd, const char *name, long long lo, long long hi,
                 long long *value)
{
    const char *v = rt_cli_get(a, name);
    if (!v)
        return 0;
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if ((isdigit((unsigned char)v[0]) || (v[0] == '-' && isdigit((unsigned char)v[1]))) && !*end && !errno && n >= lo &&
        n <= hi) {
        *value = n;
        return 0;
    }
    if (hi == LLONG_MAX)
        fprintf(stderr, "%s %s: --%s must be a whole number >= %lld, got '%s'\n", a->prog, cmd, name, lo, v);
    else
        fprintf(stderr, "%s %s: --%s must be a whole number in %lld..%lld, got '%s'\n", a->prog, cmd, name, lo, hi, v);
    return -1;
}

/* ---- help ---- */

static void print_program_help(FILE *out, const rt_model *m, const char *prog)
{
    fprintf(out, "usage: %s COMMAND [OPTIONS]\n\n", prog);
    fprintf(out, "The trainer of model %s (%zu parameters, input %dx%dx%d, %d classes, batch <= %d), built by netc.\n\n",
            m->name, m->nparams, m->in_c, m->in_h, m->in_w, m->classes, m->max_batch);
    fprintf(out, "commands:\n");
    for (int i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nRun '%s COMMAND --help' for a command's options.\n", prog);
}

static void print_option(const char *left, const char *help)
{
    if (strlen(left) <= 28)
        printf("  %-28s %s\n", left, help);
    else
        printf("  %s\n  %-28s %s\n", left, "", help);
}

static void print_settings_help(const rt_model *m, const char *prefix)
{
    static const char *const args[] = {
        [SETTING_INT] = "N", [SETTING_FLOAT] = "X", [SETTING_STR] = "S", [SETTING_WORD] = "WORD", [SETTING_CALL] = "WORD",
        [SETTING_CHANNELS] = "X[,X...]|auto",
    };
    rt_train_config c;
    rt_config_init(&c);
    int model_ok = rt_config_parse_text(&c, m->settings ? m->settings : "", "", NULL, 0) == 0;
    if (prefix[0]) {   /* eval's augmentation is off unless asked */
        rt_config_init(&c);
        printf("\n%s settings (default: off):\n", setting_specs[SETTING_augment].help);
    } else {
        printf("\ntrain settings (defaults: %s):\n", model_ok ? "this model's train section" : "netc's");
    }
    for (int i = 0; i < SETTING_COUNT; i++) {
        const setting_spec *e = &setting_specs[i];
        if (e->kind == SETTING_GROUP || strncmp(e->key, prefix, strlen(prefix)))
            continue;
        char opt[64], left[160], help[1800], value[1100], words[256];
        rt_config_option_name(e, opt, sizeof opt);
        if (e->kind == SETTING_BOOL)
            snprintf(left, sizeof left, "%s, --no-%s", opt, opt + 2);
        else
            snprintf(left, sizeof left, "%s %s", opt, args[e->kind]);
        rt_config_value(&c, e, value, sizeof value);
        if (e->kind == SETTING_WORD || e->kind == SETTING_CALL)
            snprintf(help, sizeof help, "%s: %s (%s)", e->help, setting_words_text(e, 0, words, sizeof words), value);
        else if (value[0])
            snprintf(help, sizeof help, "%s (%s)", e->help, value);
        else
            snprintf(help, sizeof help, "%s (unset)", e->help);
        print_option(left, help);
    }
}

static void print_command_help(const rt_model *m, const char *prog, const cli_command *c)
{
    printf("usage: %s %s\n\n%c%s.\n", prog, c->synopsis, toupper((unsigned char)c->summary[0]), c->summary + 1);
    if (c->details)
        printf("\n%s\n", c->details);
    printf("\noptions:\n");
    for (int i = 0; i < c->noptions; i++) {
        char left[96];
        if (c->options[i].arg)
            snprintf(left, sizeof left, "--%s %s", c->options[i].name, c->options[i].arg);
        else
            snprintf(left, sizeof left, "--%s", c->options[i].name);
        print_option(left, c->options[i].help);
    }
    print_option("-h, --help", "print this help");
    if (c->settings)
        print_settings_help(m, c->settings);
}

/* ---- parsing ---- */

/* The options of command c, without "--", into names[0..cap) (the settings' spelt
 * into store); returns how many. */
static int option_names(const cli_command *c, const char **names, int cap, char (*store)[64])
{
    int n = 0;
    for (int i = 0; i < c->noptions && n < cap; i++)
        names[n++] = c->options[i].name;
    for (int i = 0; c->settings && i < SETTING_COUNT && n < cap; i++) {
        if (setting_specs[i].kind == SETTING_GROUP || !command_setting(c, setting_specs[i].key))
            continue;
        char opt[64];
        rt_config_option_name(&setting_specs[i], opt, sizeof opt);
        snprintf(store[i], sizeof store[i], "%s", opt + 2);
        names[n++] = store[i];
    }
    return n;
}

static void unknown_option(const char *prog, const cli_command *c, const char *name)
{
    const char *names[2 * SETTING_COUNT];
    char store[SETTING_COUNT][64];
    const char *best = closest_name(name, names, option_names(c, names, 2 * SETTING_COUNT, store));
    if (best)
        fprintf(stderr, "%s %s: unknown option '--%s'; did you mean '--%s'?\n", prog, c->name, name, best);
    else
        fprintf(stderr, "%s %s: unknown option '--%s' (see %s %s --help)\n", prog, c->name, name, prog, c->name);
}

/* Records option `name` with its value; checks a train setting's value at once. */
static int record(rt_cli_args *a, const cli_command *c, const char *name, const char *value)
{
    if (a->ngiven == RT_CLI_MAX_GIVEN) {
        fprintf(stderr, "%s %s: too many options\n", a->prog, c->name);
        return -1;
    }
    const setting_spec *e = command_setting(c, name);
    if (e) {
        rt_train_config scratch;
        rt_config_init(&scratch);
        char msg[300];
        if (rt_config_set(&scratch, e, value, msg, sizeof msg)) {
            fprintf(stderr, "%s %s: --%s: %s\n", a->prog, c->name, name, msg);
            return -1;
        }
    }
    snprintf(a->given[a->ngiven].name, sizeof a->given[a->ngiven].name, "%s", name);
    a->given[a->ngiven].value = value;
    a->ngiven++;
    return 0;
}

/* Command c's option `name` (without "--"), or NULL. */
static const cli_option *option_of(const cli_command *c, const char *name)
{
    for (int k = 0; k < c->noptions; k++)
        if (!strcmp(c->options[k].name, name))
            return &c->options[k];
    return NULL;
}

int rt_cli_parse(const rt_model *m, const cli_command *c, int argc, char **argv, int first, rt_cli_args *a)
{
    a->files = argv + first;   /* positional arguments are compacted here, in place */
    a->nfiles = 0;
    int only_files = 0;
    for (int i = first; i < argc; i++) {
        const char *arg = argv[i];
        if (only_files || arg[0] != '-' || !strcmp(arg, "-")) {
            a->files[a->nfiles++] = argv[i];
            continue;
        }
        if (!strcmp(arg, "--")) {
            only_files = 1;
            continue;
        }
        if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            print_command_help(m, a->prog, c);
            return 1;
        }
        if (!strcmp(arg, "-o") && option_of(c, "output"))
            arg = "--output";   /* -o FILE, as plot takes it */
        if (arg[1] != '-') {
            fprintf(stderr, "%s %s: unknown option '%s' (options are long: --name)\n", a->prog, c->name, arg);
            return 2;
        }
        const char *eq = strchr(arg + 2, '=');
        size_t len = eq ? (size_t)(eq - (arg + 2)) : strlen(arg + 2);
        char name[64];   /* the option's name, cut at '=' */
        if (len == 0 || len >= sizeof name) {
            fprintf(stderr, "%s %s: bad option '%s'\n", a->prog, c->name, arg);
            return 2;
        }
        memcpy(name, arg + 2, len);
        name[len] = 0;
        const cli_option *opt = option_of(c, name);
        const setting_spec *e = !opt ? command_setting(c, name) : NULL;
        int negated = 0;
        if (!opt && !e && !strncmp(name, "no-", 3)) {
            e = command_setting(c, name + 3);
            if (e && e->kind == SETTING_BOOL) {
                negated = 1;
                memmove(name, name + 3, strlen(name + 3) + 1);
            } else {
                e = NULL;
            }
        }
        if (!opt && !e) {
            unknown_option(a->prog, c, name);
            return 2;
        }
        int flag = opt ? opt->arg == NULL : e->kind == SETTING_BOOL;
        const char *value;
        if (negated) {
            if (eq) {
                fprintf(stderr, "%s %s: --no-%s takes no value\n", a->prog, c->name, name);
                return 2;
            }
            value = "false";
        } else if (flag) {
            value = eq ? eq + 1 : "true";
            if (opt && eq) {
                fprintf(stderr, "%s %s: --%s takes no value\n", a->prog, c->name, name);
                return 2;
            }
        } else if (eq) {
            value = eq + 1;
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            fprintf(stderr, "%s %s: --%s needs a value (%s)\n", a->prog, c->name, name,
                    opt ? opt->arg : "see --help");
            return 2;
        }
        if (record(a, c, name, value))
            return 2;
    }
    if (a->nfiles > 0 && !c->files) {
        fprintf(stderr, "%s %s: unexpected argument '%s' (see %s %s --help)\n", a->prog, c->name, a->files[0], a->prog,
                c->name);
        return 2;
    }
    return 0;
}

/* ---- train ---- */

static int cmd_train(const rt_model *m, const rt_cli_args *a)
{
    rt_train_options o;
    memset(&o, 0, sizeof o);
    o.prog = a->prog;
    o.resume = rt_cli_get(a, "resume");
    o.init_from = rt_cli_get(a, "init-from");
    o.quiet = rt_cli_get(a, "quiet") != NULL;
    long long save_every = 0;
    if (rt_cli_whole(a, "train", "save-every", 0, LLONG_MAX, &save_every))
        return 2;
    o.save_every = save_every;
    if (o.resume && o.init_from) {
        fprintf(stderr, "%s train: --resume and --init-from do not go together: a resumed run has its weights\n", a->prog);
        return 2;
    }
    char default_out[300];
    snprintf(default_out, sizeof default_out, "%s.ckpt", m->name);
    o.out = rt_cli_get(a, "out") ? rt_cli_get(a, "out") : o.resume ? o.resume : default_out;
    for (int i = 0; i < a->ngiven; i++) {
        const setting_spec *e = rt_config_find(a->given[i].name);
        if (!e)
            continue;
        o.override_keys[o.noverrides] = e->key;
        o.override_values[o.noverrides] = a->given[i].value;
        if (++o.noverrides == SETTING_COUNT) {
            fprintf(stderr, "%s train: too many settings on the command line\n", a->prog);
            return 2;
        }
    }
    return rt_train_run(m, &o);
}

/* ---- the entry point ---- */

static void maybe_reexec(char **argv)
{
    if (getenv("OPENBLAS_CORETYPE") || getenv("NETC_NO_REEXEC"))
        return;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f"))
        return;
    if (setenv("OPENBLAS_CORETYPE", "SkylakeX", 1) != 0)
        return;
    execv("/proc/self/exe", argv);
    /* exec failed: carry on with the kernels OpenBLAS chose */
#else
    (void)argv;
#endif
}

int rt_trainer_main(const rt_model *m, int argc, char **argv)
{
    if (argc > 0)
        maybe_reexec(argv);
    rt_cli_args a;
    memset(&a, 0, sizeof a);
    const char *slash = argc > 0 ? strrchr(argv[0], '/') : NULL;
    a.prog = argc > 0 ? (slash ? slash + 1 : argv[0]) : "trainer";
    if (argc < 2) {
        print_program_help(stderr, m, a.prog);
        return 2;
    }
    const char *name = argv[1];
    if (!strcmp(name, "-h") || !strcmp(name, "--help") || !strcmp(name, "help")) {
        print_program_help(stdout, m, a.prog);
        return 0;
    }
    if (!strcmp(name, "plot"))
        return rt_cmd_plot(m, argc, argv, a.prog);
    for (int i = 0; i < NCOMMANDS; i++) {
        if (strcmp(commands[i].name, name))
            continue;
        int rc = rt_cli_parse(m, &commands[i], argc, argv, 2, &a);
        if (rc == 1)
            return 0;
        if (rc)
            return rc;
        return commands[i].run(m, &a);
    }
    const char *names[NCOMMANDS];
    for (int i = 0; i < NCOMMANDS; i++)
        names[i] = commands[i].name;
    const char *best = closest_name(name, names, NCOMMANDS);
    if (best)
        fprintf(stderr, "%s: unknown command '%s'; did you mean '%s'?\n", a.prog, name, best);
    else
        fprintf(stderr, "%s: unknown command '%s' (commands: train, eval, predict, export, schedule, plot, info; see %s --help)\n", a.prog,
                name, a.prog);
    return 2;
}
