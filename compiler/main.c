/* main.c — the netc command line.  main() reads as the pipeline:
 *   read source -> parse -> elaborate (graph, shapes, settings) -> report.
 *   -> plan memory -> emit C (compile) or print (summary, dot, plan).
 * `netc sweep` (sweep.c) reuses build's code through build_trainer.
 * Exit status: 0 clean (warnings allowed), 1 diagnostics, 2 usage or I/O error. */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "netc.h"
#include "../common/tmpdir.h"

extern char **environ;

#define MAX_DEFINES 64

typedef struct {
    const char *command;
    const char *file;
    const char *output;
    const char *name;
    Mode mode;
    int batch;                /* 0: the train section's batch */
    const char *weights;      /* export-c: the checkpoint or .npz */
    bool blob;                /* export-c: --weights-in blob */
    bool stats;               /* plan: --stats, the planner's work on stderr */
    bool sanitize;            /* build: link the ASan/UBSan runtime (build-san/) */
    bool quiet;               /* build: no "built" line (netc sweep says it) */

    Define defs[MAX_DEFINES];
    int ndefs;
} Options;

typedef struct {
    const char *name;
    const char *summary;
    int (*run)(const Graph *g, const Options *o, FILE *out);
    bool writes_dir;          /* -o names a directory, not a file */
} Command;

static int batch_of(const Graph *g, const Options *o)
{
    return o->batch ? o->batch : (int)setting_value(g, "batch").i;
}

static int run_check(const Graph *g, const Options *o, FILE *out)
{
    (void)g;
    (void)o;
    (void)out;
    return 0;
}

static int run_summary(const Graph *g, const Options *o, FILE *out)
{
    (void)o;
    print_summary(out, g);
    return 0;
}

static int run_dot(const Graph *g, const Options *o, FILE *out)
{
    (void)o;
    print_dot(out, g);
    return 0;
}

static int run_plan(const Graph *g, const Options *o, FILE *out)
{
    Plan *p = plan_build(g, o->mode, batch_of(g, o));
    char err[512];
    bool ok = plan_verify(p, err, sizeof err);
    if (!ok)
        fprintf(stderr, "netc: internal error: invalid memory plan: %s\n", err);
    else {
        print_plan(out, p);
        if (o->stats)
            fprintf(stderr, "netc plan: %d buffers, %d steps, planner work %lld\n", p->nbuf, p->nstep, p->work);
    }
    plan_free(p);
    return ok ? 0 : 2;
}

/* The C prefix: --name, else the model name in lower case. */
static void c_prefix(const Graph *g, const Options *o, char *buf, size_t len)
{
    const char *src = o->name ? o->name : g->model_name;
    size_t j = 0;
    for (size_t i = 0; src[i] && j + 1 < len; i++) {
        char ch = src[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9' && j > 0) || ch == '_';
        if (ch >= 'A' && ch <= 'Z') {
            ch = (char)(ch - 'A' + 'a');
            ok = true;
        }
        buf[j++] = ok ? ch : '_';
    }
    buf[j] = 0;
}

bool make_dirs(const char *dir)
{
    char path[PATH_MAX];
    if (!dir[0] || snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path) {
        fprintf(stderr, "netc: cannot create directory '%s': %s\n", dir, dir[0] ? "path too long" : "empty name");
        return false;
    }
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p)
            continue;
        char end = *p;
        *p = 0;
        struct stat st;
        if (stat(path, &st) != 0 && mkdir(path, 0777) != 0 && errno != EEXIST) {
            fprintf(stderr, "netc: cannot create directory '%s': %s\n", path, strerror(errno));
            return false;
        }
        if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
            fprintf(stderr, "netc: cannot create directory '%s': '%s' is not a directory\n", dir, path);
            return false;
        }
        *p = end;
        if (!end)
            return true;
    }
}

/* The runtime's names (and the trainer's headers', which a built program includes)
 * begin with these: a C prefix that is one, or begins with one and '_', would declare
 * its NAME_model, NAME_init, ... beside the runtime's (rt_model). */
static const char *const reserved_prefixes[] = { "rt", "netc", "setting" };

static const char *reserved_prefix(const char *prefix)
{
    for (size_t i = 0; i < sizeof reserved_prefixes / sizeof reserved_prefixes[0]; i++) {
        size_t n = strlen(reserved_prefixes[i]);
        if (!strncmp(prefix, reserved_prefixes[i], n) && (prefix[n] == 0 || prefix[n] == '_'))
            return reserved_prefixes[i];
    }
    return NULL;
}

/* The C prefix, reporting when --name leaves nothing of it or it is the runtime's. */
static bool c_identifier_prefix(const Graph *g, const Options *o, char *buf, size_t len)
{
    c_prefix(g, o, buf, len);
    const char *taken = reserved_prefix(buf);
    if (!buf[0])
        fprintf(stderr, "netc: --name must give a C identifier\n");
    else if (taken)
        fprintf(stderr, "netc: the C prefix '%s' is reserved: the runtime's names begin with %s_ (pass another --name)\n",
                buf, taken);
    return buf[0] && !taken;
}

static int run_compile(const Graph *g, const Options *o, FILE *out)
{
    (void)out;
    char prefix[64];
    if (!c_identifier_prefix(g, o, prefix, sizeof prefix))
        return 2;
    const char *dir = o->output ? o->output : ".";
    if (!make_dirs(dir))
        return 2;
    return generate_c(g, dir, prefix, batch_of(g, o));
}

/* export-c and export-onnx need the trained weights and -o (a directory, a file). */
static bool need_export_args(const Options *o, const char *output)
{
    if (!o->weights)
        fprintf(stderr, "netc %s: --weights CKPT_OR_NPZ is required (a trainer's checkpoint or its export)\n",
                o->command);
    else if (!o->output)
        fprintf(stderr, "netc %s: -o %s is required\n", o->command, output);
    return o->weights && o->output;
}

/* export-c: the model with trained weights as self-contained C (export.c). */
static int run_export(const Graph *g, const Options *o, FILE *out)
{
    (void)out;
    char prefix[64];
    if (!c_identifier_prefix(g, o, prefix, sizeof prefix))
        return 2;
    if (!need_export_args(o, "DIR") || !make_dirs(o->output))
        return 2;
    return export_c(g, o->weights, o->output, prefix, o->batch ? o->batch : 1, o->blob);
}

/* export-onnx: the model with trained weights as an ONNX file (onnx_export.c). */
static int run_export_onnx(const Graph *g, const Options *o, FILE *out)
{
    (void)out;
    return need_export_args(o, "FILE.onnx") ? export_onnx(g, o->weights, o->output) : 2;
}

/* Where netc build finds the runtime: the directory holding netc_rt.h (-I) and the one
 * holding libnetcrt.a.  A source tree after `make` is $NETC_HOME, else the directory of
 * the netc executable or its parent, whichever has runtime/netc_rt.h: the headers in
 * runtime/, the libraries in build/ (build-san/ for --sanitize).  An installed netc
 * (make install) finds its copy beside it, BIN/../include/netc/runtime and BIN/../lib, so
 * a staged or moved installation works and never reaches back to the source tree. */
typedef struct {
    char inc[PATH_MAX];
    char lib[PATH_MAX];
    char tree[PATH_MAX];   /* the source tree whose make builds lib; empty for an installation */
} Home;

static bool tree_home(Home *h, const char *root, bool sanitize)
{
    snprintf(h->inc, sizeof h->inc, "%.*s/runtime", PATH_MAX - 16, root);
    snprintf(h->lib, sizeof h->lib, "%.*s/%s", PATH_MAX - 16, root, sanitize ? "build-san" : "build");
    snprintf(h->tree, sizeof h->tree, "%s", root);
    return true;
}

/* Whether DIR/FILE can be read. */
static bool has_file(const char *dir, const char *file)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    return access(path, R_OK) == 0;
}

static bool find_home(Home *h, bool sanitize)
{
    const char *env = getenv("NETC_HOME");
    char exe[PATH_MAX], up[PATH_MAX];
    if (env)
        return tree_home(h, env, sanitize);
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return false;
    exe[n] = 0;
    const char *bin = dirname(exe);
    snprintf(up, sizeof up, "%s", bin);
    const char *parent = dirname(up);
    if (has_file(bin, "runtime/netc_rt.h"))
        return tree_home(h, bin, sanitize);
    if (has_file(parent, "runtime/netc_rt.h"))
        return tree_home(h, parent, sanitize);
    if (!has_file(parent, "include/netc/runtime/netc_rt.h"))
        return false;
    snprintf(h->inc, sizeof h->inc, "%.*s/include/netc/runtime", PATH_MAX - 32, parent);
    snprintf(h->lib, sizeof h->lib, "%.*s/lib", PATH_MAX - 32, parent);
    h->tree[0] = 0;
    return true;
}

static int run_program(char *const argv[])
{
    pid_t pid;
    int err = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
    if (err) {
        fprintf(stderr, "netc: cannot run %s: %s\n", argv[0], strerror(err));
        return 2;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return 2;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 2;
}

/* The link flags the runtime library was built to need besides netc's own (Open MPI's,
 * when make found it: the words of BUILD/mpi.flags, which make writes) appended to
 * argv[argc..max); the words live in text.  Returns the new argc.  No file, or an empty
 * one: a runtime without MPI, whose trainers run single-process. */
static int add_link_flags(char **argv, int argc, int max, const char *path, char *text, size_t len)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return argc;
    size_t n = fread(text, 1, len - 1, f);
    fclose(f);
    text[n] = 0;
    char *save = NULL;
    for (char *word = strtok_r(text, " \t\n", &save); word && argc < max; word = strtok_r(NULL, " \t\n", &save))
        argv[argc++] = word;
    return argc;
}

/* build: compile the model's C and a two-line main into one trainer program, linked
 * with the static runtime library and the shared OpenBLAS, libzip, zlib and libpng;
 * also with MPI's libraries when the runtime was built with them. */
static int run_build(const Graph *g, const Options *o, FILE *out)
{
    (void)out;
    Home home;
    char prefix[64], dir[PATH_MAX - 128];   /* room for "/NAME.c" after it */
    if (temp_template(dir, sizeof dir, "netc-build") != 0) {
        fprintf(stderr, "netc: TMPDIR is too long\n");
        return 2;
    }
    if (!find_home(&home, o->sanitize)) {
        fprintf(stderr, "netc: cannot find the runtime (runtime/netc_rt.h, or ../include/netc/runtime/netc_rt.h "
                        "beside an installed netc); set NETC_HOME to netc's directory\n");
        return 2;
    }
    if (!c_identifier_prefix(g, o, prefix, sizeof prefix))
        return 2;
    if (!mkdtemp(dir)) {
        fprintf(stderr, "netc: cannot make a build directory %s: %s\n", dir, strerror(errno));
        return 2;
    }
    int batch = batch_of(g, o);
    int rc = generate_c(g, dir, prefix, o->batch ? batch : (batch > 256 ? batch : 256));
    char main_c[PATH_MAX], model_c[PATH_MAX], inc_rt[PATH_MAX + 16], inc_dir[PATH_MAX + 8], lib[PATH_MAX + 32],
        output[PATH_MAX];
    snprintf(main_c, sizeof main_c, "%s/main.c", dir);
    snprintf(model_c, sizeof model_c, "%s/%s.c", dir, prefix);
    snprintf(inc_rt, sizeof inc_rt, "-I%s", home.inc);
    snprintf(inc_dir, sizeof inc_dir, "-I%s", dir);
    snprintf(lib, sizeof lib, "%s/libnetcrt.a", home.lib);
    snprintf(output, sizeof output, "%s", o->output ? o->output : prefix);
    bool keep_sources = false;
    char out_dir[PATH_MAX];
    snprintf(out_dir, sizeof out_dir, "%s", output);
    if (rc == 0 && strchr(output, '/') && !make_dirs(dirname(out_dir)))   /* -o DIR/PROG: DIR made if missing */
        rc = 2;
    if (rc == 0 && o->sanitize && !home.tree[0]) {
        fprintf(stderr, "netc: --sanitize: an installed netc has no sanitized runtime; set NETC_HOME to a source "
                        "tree built with 'make SAN=1'\n");
        rc = 2;
    }
    if (rc == 0 && access(lib, R_OK) != 0) {
        if (home.tree[0])
            fprintf(stderr, "netc: %s is missing; run 'make%s' in %s\n", lib, o->sanitize ? " SAN=1" : "", home.tree);
        else
            fprintf(stderr, "netc: %s is missing (reinstall netc)\n", lib);
        rc = 2;
    }
    if (rc == 0) {
        FILE *f = fopen(main_c, "w");
        if (!f) {
            perror(main_c);
            rc = 2;
        } else {
            fprintf(f, "/* The trainer program of model %s, generated by netc build. */\n#include \"netc_rt.h\"\n"
                       "#include \"%s.h\"\n\n"
                       "int main(int argc, char **argv)\n{\n    return rt_trainer_main(&%s_model, argc, argv);\n}\n",
                    g->model_name, prefix, prefix);
            rc = fclose(f) == 0 ? 0 : 2;
        }
    }
    char mpi_flags[PATH_MAX + 32], mpi_text[1024] = "";
    /* make's link flags for MPI: build/mpi.flags in a tree, lib/netc-mpi.flags installed */
    snprintf(mpi_flags, sizeof mpi_flags, "%s/%s", home.lib, home.tree[0] ? "mpi.flags" : "netc-mpi.flags");
    if (rc == 0) {
        const char *cc = getenv("CC") ? getenv("CC") : "cc";
        char *argv[40] = { (char *)cc, "-std=c11", "-O2", "-march=native", inc_rt, inc_dir, "-o", output, main_c,
                           model_c, lib, "-lopenblas", "-lzip", "-lz", "-lpng", "-lplplot", "-lm" };
        int argc = 17;
        char *san[] = { "-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer" };
        for (int i = 0; o->sanitize && i < 3; i++)
            argv[argc++] = san[i];
        argc = add_link_flags(argv, argc, (int)(sizeof argv / sizeof *argv) - 1, mpi_flags, mpi_text,
                              sizeof mpi_text);
        rc = run_program(argv);
        keep_sources = rc != 0;
        if (rc)
            fprintf(stderr, "netc: compiling the trainer failed (generated sources kept in %s)\n", dir);
        else if (!o->quiet)
            fprintf(stderr, "netc: built %s (model %s); run '%s%s --help'\n", output, g->model_name,
                    strchr(output, '/') ? "" : "./", output);
    }
    if (!keep_sources) {   /* the temporary directory goes, unless the C compiler failed on it */
        char *rm[] = { "rm", "-rf", dir, NULL };
        run_program(rm);
    }
    return rc;
}

static const Command commands[] = {
    { "check", "parse and check a model; print diagnostics only", run_check, false },
    { "summary", "print a table of layers, shapes and parameter counts", run_summary, false },
    { "dot", "print the graph in Graphviz format", run_dot, false },
    { "plan", "print the memory plan: every buffer's bytes, live range and arena offset", run_plan, false },
    { "compile", "write the model as C: DIR/NAME.h and DIR/NAME.c", run_compile, true },
    { "build", "build a standalone trainer program (train, eval, predict, export)", run_build, false },
    { "export-c", "write a trained model as self-contained C: no runtime, no BLAS, no malloc", run_export, true },
    { "export-onnx", "write a trained model as an ONNX file (opset 17, dynamic batch)", run_export_onnx, false },
};
#define NCOMMANDS ((int)(sizeof commands / sizeof commands[0]))

static void usage(FILE *out)
{
    fprintf(out, "usage: netc COMMAND [options] FILE.net\n       netc import [options] FILE.onnx\n\ncommands:\n");
    for (int i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-11s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "  %-11s %s\n", "sweep", "train a grid of model parameters and train settings, N at a time");
    fprintf(out, "  %-11s %s\n", "import", "turn an ONNX classifier into a .net file and an .npz of its weights");
    fprintf(out, "\nRun 'netc COMMAND --help' for a command's options.\n");
}

static void command_help(const Command *c)
{
    printf("usage: netc %s [options] FILE.net\n\n%s.\n\noptions:\n", c->name, c->summary);
    printf("  -D, --define NAME=VALUE  override a model parameter (repeatable)\n");
    if (c->run == run_export)
        printf("  -w, --weights FILE       the trained weights: a trainer's checkpoint, or the .npz of its export\n"
               "  -o, --output DIR         directory for NAME.h, NAME.c, netc_infer.[ch] (created if missing)\n"
               "  -n, --name NAME          C prefix (default: the model name in lower case)\n"
               "  -b, --batch N            most images per NAME_predict call (default: 1)\n"
               "      --weights-in code|blob  weights as static const arrays in NAME.c (default), or in a\n"
               "                           checked NAME.weights file the caller loads\n");
    else if (c->run == run_export_onnx)
        printf("  -w, --weights FILE       the trained weights: a trainer's checkpoint, or the .npz of its export\n"
               "  -o, --output FILE.onnx   the ONNX file to write (required)\n");
    else if (c->run == run_build)
        printf("  -o, --output PROGRAM     the program to write (default: the model name in lower case)\n"
               "  -n, --name NAME          C prefix (default: the model name in lower case)\n"
               "  -b, --batch N            largest batch the program accepts (default: max(train batch, 256))\n"
               "      --sanitize           link the ASan/UBSan runtime of build-san/ (make SAN=1)\n");
    else if (c->writes_dir)
        printf("  -o, --output DIR         directory for NAME.h and NAME.c, created if missing (default: .)\n"
               "  -n, --name NAME          C prefix (default: the model name in lower case)\n"
               "  -b, --batch N            largest batch the code accepts (default: train batch)\n");
    else
        printf("  -o, --output FILE        write to FILE instead of standard output\n");
    if (c->run == run_plan)
        printf("  -m, --mode train|infer|export  plan the training step, the trainer's inference, or\n"
               "                           the inference of export-c's C (default: train)\n"
               "  -b, --batch N            batch size to plan for (default: train batch)\n"
               "      --stats              also print on stderr the planner's work: the elementary steps\n"
               "                           of placement and in-place merging (near-linear in the buffers)\n");
    printf("  -h, --help               show this help\n");
    printf("\nExit status: 0 clean (warnings allowed), 1 diagnostics, 2 usage or I/O error.\n");
    if (strcmp(c->name, "check") == 0) {
        printf("\ntrain section settings:\n");
        print_train_schema(stdout);
    }
}

static const Command *find_command(const char *name)
{
    for (int i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

/* Parses options after the command name; returns -1 to go on, else an exit status. */
static int parse_options(int argc, char **argv, const Command *cmd, Options *o)
{
    static const struct option longopts[] = {
        { "define", required_argument, NULL, 'D' },
        { "output", required_argument, NULL, 'o' },
        { "help", no_argument, NULL, 'h' },
        { "name", required_argument, NULL, 'n' },
        { "mode", required_argument, NULL, 'm' },
        { "batch", required_argument, NULL, 'b' },
        { "weights", required_argument, NULL, 'w' },
        { "weights-in", required_argument, NULL, 'W' },
        { "stats", no_argument, NULL, 'S' },
        { "sanitize", no_argument, NULL, 'Z' },

        { NULL, 0, NULL, 0 },
    };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "D:o:hn:m:b:w:", longopts, NULL)) != -1) {
        bool weights_ok = cmd->run == run_export || (c == 'w' && cmd->run == run_export_onnx);
        if ((c == 'w' || c == 'W') && !weights_ok) {
            fprintf(stderr, "netc %s: --weights belongs to export-c and export-onnx, --weights-in to export-c\n"
                            "Try 'netc %s --help'.\n", cmd->name, cmd->name);
            return 2;
        }
        switch (c) {
        case 'D':
            if (add_define(optarg, o->defs, &o->ndefs, MAX_DEFINES))
                return 2;
            break;
        case 'o':
            o->output = optarg;
            break;
        case 'n':
            o->name = optarg;
            break;
        case 'm':
            if (strcmp(optarg, "train") == 0)
                o->mode = MODE_TRAIN;
            else if (strcmp(optarg, "infer") == 0)
                o->mode = MODE_INFER;
            else if (strcmp(optarg, "export") == 0)
                o->mode = MODE_EXPORT;
            else {
                fprintf(stderr, "netc: --mode must be train, infer or export, got '%s'\n", optarg);
                return 2;
            }
            break;
        case 'b': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 65536) {
                fprintf(stderr, "netc: --batch must be an integer from 1 to 65536, got '%s'\n", optarg);
                return 2;
            }
            o->batch = (int)v;
            break;
        }
        case 'w':
            o->weights = optarg;
            break;
        case 'S':
            if (cmd->run != run_plan) {
                fprintf(stderr, "netc %s: --stats belongs to plan\nTry 'netc %s --help'.\n", cmd->name, cmd->name);
                return 2;
            }
            o->stats = true;
            break;
        case 'W':
            if (strcmp(optarg, "code") != 0 && strcmp(optarg, "blob") != 0) {
                fprintf(stderr, "netc: --weights-in must be code or blob, got '%s'\n", optarg);
                return 2;
            }
            o->blob = optarg[0] == 'b';
            break;
        case 'Z':
            if (cmd->run != run_build) {
                fprintf(stderr, "netc %s: --sanitize belongs to build\nTry 'netc %s --help'.\n", cmd->name, cmd->name);
                return 2;
            }
            o->sanitize = true;
            break;
        case 'h':
            command_help(cmd);
            return 0;
        default:
            fprintf(stderr, "Try 'netc %s --help'.\n", cmd->name);
            return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "netc %s: expected one FILE.net, got %d\nTry 'netc %s --help'.\n", cmd->name, argc - optind,
                cmd->name);
        return 2;
    }
    o->file = argv[optind];
    return -1;
}

int add_define(char *arg, Define *defs, int *ndefs, int cap)
{
    char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1]) {
        fprintf(stderr, "netc: -D expects NAME=VALUE, got '%s'\n", arg);
        return 2;
    }
    if (*ndefs == cap) {
        fprintf(stderr, "netc: too many -D options (at most %d)\n", cap);
        return 2;
    }
    *eq = 0;
    defs[(*ndefs)++] = (Define){ arg, eq + 1 };
    return 0;
}

static int run(const Command *cmd, const Options *o);

int build_trainer(const char *file, const Define *defs, int ndefs, const char *output)
{
    Options o = { .command = "build", .file = file, .output = output, .mode = MODE_TRAIN, .quiet = true };
    if (ndefs > MAX_DEFINES) {
        fprintf(stderr, "netc: too many -D options (at most %d)\n", MAX_DEFINES);
        return 2;
    }
    memcpy(o.defs, defs, (size_t)ndefs * sizeof *defs);
    o.ndefs = ndefs;
    return run(find_command("build"), &o);
}

static int run(const Command *cmd, const Options *o)
{
    char err[512];
    SrcFile *src = src_read(o->file, err, sizeof err);
    if (!src) {
        fprintf(stderr, "netc: %s\n", err);
        return 2;
    }
    Program prog = { 0 };
    Graph g = { 0 };
    int rc = parse_program(src, &prog);
    if (rc == 0)
        rc = elaborate(&prog, o->defs, o->ndefs, &g);
    if (rc == 0) {
        bool to_file = o->output && !cmd->writes_dir && cmd->run != run_build && cmd->run != run_export_onnx;
        FILE *out = to_file ? fopen(o->output, "w") : stdout;
        if (!out) {
            perror(o->output);
            rc = 2;
        } else {
            rc = cmd->run(&g, o, out);
            if ((to_file ? fclose(out) : fflush(out)) != 0) {
                fprintf(stderr, "netc: cannot write %s\n", to_file ? o->output : "standard output");
                rc = 2;
            }
        }
    }
    graph_free(&g);
    free_tree(prog.model);
    free_tree(prog.blocks);
    src_free(src);
    return rc;
}

/* import FILE.onnx [-o FILE.net] [--weights-out W.npz] (onnx_import.c): no .net to read,
 * so options of its own.  The weights go by default beside -o's file, else beside the
 * .onnx file's name in the current directory, as NAME.npz. */
static int run_import(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "output", required_argument, NULL, 'o' },
        { "weights-out", required_argument, NULL, 'W' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *output = NULL, *weights = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        if (c == 'o')
            output = optarg;
        else if (c == 'W')
            weights = optarg;
        else if (c == 'h') {
            printf("usage: netc import [options] FILE.onnx\n\n"
                   "Turn an ONNX classifier made of netc's ops into a .net file and its weights into an .npz\n"
                   "that a built trainer's 'train --init-from' reads (docs/onnx.md).\n\noptions:\n"
                   "  -o, --output FILE.net    the .net file to write (default: standard output)\n"
                   "      --weights-out W.npz  the weights (default: FILE.net's name with .npz, else the\n"
                   "                           .onnx file's name with .npz in the current directory)\n"
                   "  -h, --help               show this help\n\n"
                   "Exit status: 0 imported, 1 the file is refused (with the reason), 2 usage or I/O error.\n");
            return 0;
        } else {
            fprintf(stderr, "Try 'netc import --help'.\n");
            return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "netc import: expected one FILE.onnx, got %d\nTry 'netc import --help'.\n", argc - optind);
        return 2;
    }
    char npz[PATH_MAX];
    if (!weights) {   /* -o's path, else the .onnx file's name here, its extension made .npz */
        const char *from = output ? output : argv[optind], *slash = strrchr(from, '/');
        const char *base = output || !slash ? from : slash + 1, *dot = strrchr(base, '.');
        int keep = dot && dot > base && (!strrchr(base, '/') || dot > strrchr(base, '/')) ? (int)(dot - base)
                                                                                           : (int)strlen(base);
        if (snprintf(npz, sizeof npz, "%.*s.npz", keep, base) >= (int)sizeof npz) {
            fprintf(stderr, "netc import: the path is too long\n");
            return 2;
        }
        weights = npz;
    }
    return import_onnx(argv[optind], output, weights);
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "sweep") == 0)
        return sweep_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "import") == 0)
        return run_import(argc - 1, argv + 1);
    const Command *cmd = find_command(argv[1]);
    if (!cmd) {
        fprintf(stderr, "netc: unknown command '%s'\n", argv[1]);
        usage(stderr);
        return 2;
    }
    Options o = { .command = cmd->name, .mode = MODE_TRAIN };
    int rc = parse_options(argc - 1, argv + 1, cmd, &o);
    if (rc >= 0)
        return rc;
    return run(cmd, &o);
}
