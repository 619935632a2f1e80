/* train_loop.c — the `train` command: epochs of mini-batch steps, with checkpoints
 * that resume bit for bit.
 *
 * Everything that decides what the next optimizer step computes is part of the
 * session and of every checkpoint: the weights, batch-norm statistics and optimizer
 * moments; the position (epoch, images done in it, global step); this epoch's example
 * order; the three random streams (data order, dropout in net->rng, augmentation and
 * MixUp); the early-stopping counters; and the settings in force.  The learning rate is
 * a closed-form function of (epoch, step) (train_schedule.c), so it needs no state of its
 * own.  Resuming restores all of it and takes the same code path an uninterrupted run
 * takes at that point, so the parameters match bit for bit (given the same program and
 * BLAS thread count).
 *
 * An epoch starts, when its position is 0, by copying the training indices and
 * shuffling them with the data stream; each batch is filled, augmented image by image,
 * mixed (MixUp) or given soft targets (label smoothing), and passed to train_step.
 * MixUp mixes a batch with a permutation of itself under one lambda (mixup_mode =
 * batch), or, as notebook 000's two shuffled generators, each image with the image at
 * the same position of a second order of the training set, each with its own lambda
 * (pairs); that order is drawn afresh for every epoch from the seed and the epoch.
 * SIGINT/SIGTERM only set a flag; the loop notices it after the batch in flight,
 * writes a checkpoint at that exact position and exits 128+signal.  Checkpoints are
 * written atomically (rt_ckpt_commit), so no kill leaves an unreadable one.
 *
 * After each epoch the monitored validation metric (early_stopping.monitor) decides
 * whether the epoch is the best so far; if so the whole session is also written to
 * CKPT.best, before CKPT, and the best's score and epoch are in every checkpoint, so a
 * resume picks the same best.  An --out name with an {epoch} field is a pattern: each
 * checkpoint goes to the name of its epoch, the log and the best to the name without
 * the field.  restore_best ends the run by reading CKPT.best back as the session.
 * A run holds an advisory lock on CKPT.lock from start to end (then removes it), so a
 * second run into the same --out is refused at once instead of interleaving its log
 * with the first's.
 *
 * Under mpirun (train_mpi.c) every rank runs this same loop on the same data, order
 * and random streams, and each step goes through train_shards.c, which splits the
 * batch's work over the ranks and hands every rank the same sums, so every rank holds
 * the same weights throughout; a stop signal is shared in that step, so all stop at the
 * same one.  Rank 0 alone writes files (lock, checkpoints, log, best) and prints; the
 * others' standard output and error go to /dev/null.  Validation and test run on every
 * rank (their results decide early stopping, which must agree). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "rt_trainer.h"

/* Random streams of the seed (0: the model's init, 1: the validation split; 5 and 6:
 * eval_xform.c).  Epoch e's partner order under mixup_mode = pairs is a shuffle from
 * stream STREAM_PAIRS + e: a function of the epoch, like the learning rate, so it needs
 * no state of its own in a checkpoint. */
#define STREAM_DATA 2
#define STREAM_DROPOUT 3
#define STREAM_AUGMENT 4
#define STREAM_PAIRS (UINT64_C(1) << 32)

/* The one mutable global of the trainer: a signal handler can only reach a global.
 * 0, or the number of the signal (SIGINT, SIGTERM) that asked training to stop. */
static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
    stop_signal = sig;
}

/* The current epoch so far. */
typedef struct {
    double loss_sum, correct, images, seconds;
} epoch_sums;

/* The best epoch by the monitored validation metric, as a score lower is better (the
 * loss, or minus the accuracy): its score, its epoch (0: none yet), epochs since. */
typedef struct {
    double best, best_epoch, epochs_since;
} stopping;

typedef struct {
    const rt_model *m;
    const rt_train_options *o;
    rt_train_config cfg;
    char *config_text;          /* cfg as saved in checkpoints */
    char *names_text;           /* class names, one a line */
    rt_net net;
    int net_ok;
    rt_data data;
    rt_split split;
    rt_batch_xform xf;
    rt_augment aug;
    rt_eval_buffers eb;
    size_t image_floats;
    float *x, *xmix, *targets, *probs;
    int32_t *labels;
    uint32_t *perm, *order;
    float *x2, *lam;            /* mixup_mode = pairs: the partners of a batch, their lambdas */
    int32_t *labels2;
    uint32_t *order2;           /* mixup_mode = pairs: this epoch's partner order */
    rt_rng rng_data, rng_aug;
    int32_t data_shape[3];
    uint64_t data_sizes[2];     /* training examples (after limit), test examples */
    uint64_t epoch;             /* epochs done */
    uint64_t pos;               /* images done in the current epoch */
    uint64_t step;              /* optimizer steps taken */
    epoch_sums sums;            /* the current epoch so far */
    stopping es;
    double lr;                  /* of the last step */
    char base[1024];            /* o->out without its {epoch} field */
    char csv[1100];             /* base.csv */
    char best[1100];            /* base.best: the best epoch's checkpoint */
    char last[1100];            /* the checkpoint written last */
    int saved;                  /* a checkpoint exists (written or resumed from) */
    char lock_path[1100];       /* base.lock */
    int lock_fd;                /* lock_path, flock'ed for the run; -1: none */
    rt_ranks ranks;             /* this process's place in an MPI run (size 1: none) */
    int writer;                 /* rank 0: writes the files and prints */
    rt_shards sh;               /* cfg.shards > 1: the step over shards and ranks */
    int stop;                   /* the signal this step agreed to stop on (0: none) */
} session;

static void say_error(const session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say_error(const session *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", s->o->prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ---- checkpoints ---- */

static void add_u64(rt_ckpt_writer *w, const char *name, const uint64_t *v, size_t n)
{
    uint64_t dims[1] = { n };
    rt_ckpt_add(w, name, RT_DT_U64, v, 1, dims);
}

static void add_f64(rt_ckpt_writer *w, const char *name, const double *v, size_t n)
{
    uint64_t dims[1] = { n };
    rt_ckpt_add(w, name, RT_DT_F64, v, 1, dims);
}

/* After path is written (by rank 0): the last checkpoint, unless it is the best. */
static int note_saved(session *s, const char *path)
{
    if (path != s->best) {
        s->saved = 1;
        snprintf(s->last, sizeof s->last, "%s", path);
    }
    return 0;
}

/* Writes the whole session to path (on rank 0; the others only note it). */
static int save_checkpoint(session *s, const char *path, char *err, size_t errlen)
{
    const rt_model *m = s->m;
    if (!s->writer)
        return note_saved(s, path);
    rt_ckpt_writer w;
    rt_ckpt_writer_init(&w, m->name, m->hash);
    /* The writer keeps pointers until commit: these locals outlive it. */
    uint64_t dims3[1] = { 3 };
    int64_t t = s->net.t;
    uint64_t position[3] = { s->epoch, s->pos, s->step };
    uint64_t rng_data[2] = { s->rng_data.state, s->rng_data.inc };
    uint64_t rng_dropout[2] = { s->net.rng.state, s->net.rng.inc };
    uint64_t rng_augment[2] = { s->rng_aug.state, s->rng_aug.inc };
    double sums[4] = { s->sums.loss_sum, s->sums.correct, s->sums.images, s->sums.seconds };
    double es[3] = { s->es.best, s->es.best_epoch, s->es.epochs_since };
    rt_ckpt_add_bytes(&w, "config", s->config_text, strlen(s->config_text));
    rt_ckpt_add_bytes(&w, "class_names", s->names_text, strlen(s->names_text));
    rt_ckpt_add(&w, "data.shape", RT_DT_I32, s->data_shape, 1, dims3);
    add_u64(&w, "data.sizes", s->data_sizes, 2);
    rt_ckpt_add_f32(&w, "params", s->net.params, m->nparams);
    if (m->nstate > 0)
        rt_ckpt_add_f32(&w, "state", s->net.state, m->nstate);
    rt_ckpt_add_f32(&w, "opt.m", s->net.opt1, m->nparams);
    rt_ckpt_add_f32(&w, "opt.v", s->net.opt2, m->nparams);
    rt_ckpt_add(&w, "opt.t", RT_DT_I64, &t, 0, NULL);
    add_u64(&w, "train.position", position, 3);
    uint64_t n = s->split.ntrain;
    rt_ckpt_add(&w, "train.order", RT_DT_U32, s->order, 1, &n);
    add_f64(&w, "train.epoch_sums", sums, 4);
    add_f64(&w, "early_stopping", es, 3);
    add_f64(&w, "lr", &s->lr, 1);
    add_u64(&w, "rng.data", rng_data, 2);
    add_u64(&w, "rng.dropout", rng_dropout, 2);
    add_u64(&w, "rng.augment", rng_augment, 2);
    int rc = rt_ckpt_commit(&w, path, err, errlen);
    rt_ckpt_writer_free(&w);
    return rc == 0 ? note_saved(s, path) : rc;
}

/* The checkpoint of the run after `epoch` epochs (or during epoch + 1): o->out, whose
 * field {epoch} or {epoch:02d} (Python's format: width, 0 to pad with zeros), if any,
 * is the epoch; epoch < 0 removes the field.  -1 if the field is malformed. */
static int out_path(const char *out, long long epoch, char *buf, size_t len)
{
    const char *f = strstr(out, "{epoch");
    if (!f) {
        snprintf(buf, len, "%s", out);
        return 0;
    }
    const char *spec = f + 6, *end = spec;
    int zero = 0, width = 0;
    if (*end == ':') {
        end++;
        zero = *end == '0';
        for (; *end >= '0' && *end <= '9'; end++)
            width = width < 100 ? width * 10 + (*end - '0') : width;
        if (*end++ != 'd')
            return -1;
    }
    if (*end != '}')
        return -1;
    if (epoch < 0)
        snprintf(buf, len, "%.*s%s", (int)(f - out), out, end + 1);
    else if (zero)
        snprintf(buf, len, "%.*s%0*lld%s", (int)(f - out), out, width, epoch, end + 1);
    else
        snprintf(buf, len, "%.*s%*lld%s", (int)(f - out), out, width, epoch, end + 1);
    return 0;
}

/* The checkpoint to write now: at an epoch's end, the epoch done; within one, that epoch. */
static int save_now(session *s, int in_epoch, char *err, size_t errlen)
{
    char path[1100];
    out_path(s->o->out, (long long)s->epoch + (in_epoch ? 1 : 0), path, sizeof path);
    return save_checkpoint(s, path, err, errlen);
}

/* Copies file from to to, atomically (a temporary beside it, synced, then renamed). */
static int copy_file(const char *from, const char *to, char *err, size_t errlen)
{
    char tmp[1200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", to, (int)getpid());
    FILE *in = fopen(from, "rb"), *out = in ? fopen(tmp, "wb") : NULL;
    char buf[1 << 16];
    size_t n;
    int ok = in && out;
    while (ok && (n = fread(buf, 1, sizeof buf, in)) > 0)
        ok = fwrite(buf, 1, n, out) == n;
    ok = ok && !ferror(in) && fflush(out) == 0 && fsync(fileno(out)) == 0;
    if (in)
        fclose(in);
    if (out && fclose(out) != 0)
        ok = 0;
    if (ok && rename(tmp, to) == 0)
        return 0;
    int e = errno;
    unlink(tmp);
    return rt_fail(err, errlen, "cannot copy %s to %s: %s", from, to, strerror(e));
}

static int get_rng(rt_ckpt *ck, const char *name, rt_rng *r, char *err, size_t errlen)
{
    uint64_t v[2];
    if (rt_ckpt_get(ck, name, RT_DT_U64, v, 2, err, errlen))
        return -1;
    r->state = v[0];
    r->inc = v[1];
    return 0;
}

/* Everything but the settings (already taken) from the checkpoint being resumed, which
 * rt_trainer_open_ckpt has checked; here only what it holds against this run's data. */
static int load_state(session *s, rt_ckpt *ck, char *err, size_t errlen)
{
    const rt_model *m = s->m;
    uint64_t sizes[2], position[3];
    int32_t shape[3];
    double sums[4], es[3];
    int64_t t;
    if (rt_ckpt_get(ck, "data.sizes", RT_DT_U64, sizes, 2, err, errlen))
        return -1;
    if (sizes[0] != s->data_sizes[0])
        return rt_fail(err, errlen, "%s: it was trained on %llu training examples, but %s now gives %llu", ck->path,
                    (unsigned long long)sizes[0], s->cfg.data, (unsigned long long)s->data_sizes[0]);
    if (rt_ckpt_get(ck, "data.shape", RT_DT_I32, shape, 3, err, errlen))
        return -1;
    if (memcmp(shape, s->data_shape, sizeof shape) != 0)
        return rt_fail(err, errlen, "%s: it was trained on images of %dx%dx%d, but %s now gives %dx%dx%d", ck->path,
                    (int)shape[0], (int)shape[1], (int)shape[2], s->cfg.data, (int)s->data_shape[0],
                    (int)s->data_shape[1], (int)s->data_shape[2]);
    if (rt_ckpt_get(ck, "params", RT_DT_F32, s->net.params, m->nparams, err, errlen) ||
        (m->nstate > 0 && rt_ckpt_get(ck, "state", RT_DT_F32, s->net.state, m->nstate, err, errlen)) ||
        rt_ckpt_get(ck, "opt.m", RT_DT_F32, s->net.opt1, m->nparams, err, errlen) ||
        rt_ckpt_get(ck, "opt.v", RT_DT_F32, s->net.opt2, m->nparams, err, errlen) ||
        rt_ckpt_get(ck, "opt.t", RT_DT_I64, &t, 1, err, errlen) ||
        rt_ckpt_get(ck, "train.position", RT_DT_U64, position, 3, err, errlen) ||
        rt_ckpt_get(ck, "train.order", RT_DT_U32, s->order, s->split.ntrain, err, errlen) ||
        rt_ckpt_get(ck, "train.epoch_sums", RT_DT_F64, sums, 4, err, errlen) ||
        rt_ckpt_get(ck, "early_stopping", RT_DT_F64, es, 3, err, errlen) ||
        rt_ckpt_get(ck, "lr", RT_DT_F64, &s->lr, 1, err, errlen) || get_rng(ck, "rng.data", &s->rng_data, err, errlen) ||
        get_rng(ck, "rng.dropout", &s->net.rng, err, errlen) || get_rng(ck, "rng.augment", &s->rng_aug, err, errlen))
        return -1;
    s->net.t = t;
    s->epoch = position[0];
    s->pos = position[1];
    s->step = position[2];
    s->sums = (epoch_sums){ sums[0], sums[1], sums[2], sums[3] };
    s->es = (stopping){ es[0], es[1], es[2] };
    return 0;
}

/* ---- settings ---- */

/* On a resume, a setting the list marks KEPT_ON_RESUME may not change (it decides which
 * examples the run trains on; the data directory may move: the checkpoint checks the
 * example count), one marked FREE_ON_RESUME changes silently, any other with a note. */
static int apply_overrides(session *s, int resuming, char *err, size_t errlen)
{
    const rt_train_options *o = s->o;
    for (int i = 0; i < o->noverrides; i++) {
        const setting_spec *e = rt_config_find(o->override_keys[i]);
        char before[1100], after[1100], opt[64], msg[300];
        rt_config_value(&s->cfg, e, before, sizeof before);
        if (rt_config_set(&s->cfg, e, o->override_values[i], msg, sizeof msg))
            return rt_fail(err, errlen, "%s: %s", rt_config_option_name(e, opt, sizeof opt), msg);
        rt_config_value(&s->cfg, e, after, sizeof after);
        if (!resuming || !strcmp(before, after) || (e->flags & FREE_ON_RESUME))
            continue;
        if (e->flags & KEPT_ON_RESUME)
            return rt_fail(err, errlen, "%s %s: a resumed run keeps the %s it started with (%s); start a new run to change it",
                        rt_config_option_name(e, opt, sizeof opt), after, e->key, before);
        fprintf(stderr, "%s: note: %s changes %s from %s to %s: the run will differ from an uninterrupted one\n", o->prog,
                rt_config_option_name(e, opt, sizeof opt), e->key, before[0] ? before : "(unset)", after);
    }
    return 0;
}

/* ---- setting up ---- */

/* MixUp with a partner from a second shuffle, one lambda an image (notebook 000). */
static int mixing_pairs(const rt_train_config *c)
{
    return c->mixup > 0 && c->mixup_mode == MIXUP_PAIRS;
}

static int alloc_buffers(session *s, char *err, size_t errlen)
{
    const rt_model *m = s->m;
    size_t B = (size_t)m->max_batch, K = (size_t)m->classes;
    s->image_floats = (size_t)m->in_c * m->in_h * m->in_w;
    s->x = malloc(B * s->image_floats * sizeof(float));
    s->xmix = malloc(B * s->image_floats * sizeof(float));
    s->targets = malloc(B * K * sizeof(float));
    s->probs = malloc(B * K * sizeof(float));
    s->labels = malloc(B * sizeof(int32_t));
    s->perm = malloc(B * sizeof(uint32_t));
    s->order = malloc((s->split.ntrain ? s->split.ntrain : 1) * sizeof(uint32_t));
    if (!s->x || !s->xmix || !s->targets || !s->probs || !s->labels || !s->perm || !s->order ||
        rt_eval_buffers_alloc(&s->eb, m))
        return rt_fail(err, errlen, "out of memory for the batch buffers");
    if (mixing_pairs(&s->cfg)) {
        s->x2 = malloc(B * s->image_floats * sizeof(float));
        s->lam = malloc(B * sizeof(float));
        s->labels2 = malloc(B * sizeof(int32_t));
        s->order2 = malloc((s->split.ntrain ? s->split.ntrain : 1) * sizeof(uint32_t));
        if (!s->x2 || !s->lam || !s->labels2 || !s->order2)
            return rt_fail(err, errlen, "out of memory for the MixUp partners");
    }
    for (size_t i = 0; i < s->split.ntrain; i++)
        s->order[i] = s->split.train[i];
    return 0;
}

static int make_names_text(session *s)
{
    size_t len = 0;
    for (int i = 0; i < s->data.num_classes; i++)
        len += strlen(s->data.class_names[i]) + 1;
    s->names_text = malloc(len + 1);
    if (!s->names_text)
        return -1;
    char *p = s->names_text;
    for (int i = 0; i < s->data.num_classes; i++)
        p += sprintf(p, "%s\n", s->data.class_names[i]);
    *p = 0;
    return 0;
}

/* A new run on R > 1 ranks without --shards takes R shards (a resumed one keeps its
 * checkpoint's); the shards must be a multiple of the ranks. */
static int choose_shards(session *s, int resuming, char *err, size_t errlen)
{
    int given = 0;
    for (int i = 0; i < s->o->noverrides; i++)
        given |= rt_config_find(s->o->override_keys[i]) == &setting_specs[SETTING_shards];
    if (s->ranks.size > 1 && !resuming && !given)
        s->cfg.shards = s->ranks.size;
    if (s->cfg.shards % s->ranks.size != 0)
        return rt_fail(err, errlen, "shards %lld (%s) is not a multiple of the %d MPI ranks: pass --shards %d or a "
                       "multiple of it (the arithmetic then differs from shards %lld)", s->cfg.shards,
                       given ? "--shards" : "the checkpoint's", s->ranks.size, s->ranks.size, s->cfg.shards);
    return 0;
}

/* The settings for this run: the model's (or the resumed checkpoint's), then the
 * command line's. */
static int take_settings(session *s, rt_ckpt *ck, char *err, size_t errlen)
{
    rt_config_init(&s->cfg);
    if (ck) {
        char *text = rt_ckpt_get_text(ck, "config", err, errlen);
        if (!text)
            return -1;
        char origin[1400];
        snprintf(origin, sizeof origin, "%s: settings", ck->path);
        int rc = rt_config_parse_text(&s->cfg, text, origin, err, errlen);
        free(text);
        if (rc)
            return -1;
    } else if (rt_config_parse_text(&s->cfg, s->m->settings ? s->m->settings : "", "the model's train settings", err,
                                    errlen)) {
        return -1;
    }
    return apply_overrides(s, ck != NULL, err, errlen) || choose_shards(s, ck != NULL, err, errlen) ||
                   rt_config_check(&s->cfg, s->m, err, errlen)
               ? -1
               : 0;
}

/* The schedule's defaults that the run decides (cosine's T_max: this run's epochs, or its
 * steps) are saved with the settings, so a resume asking for more epochs continues the
 * same schedule; so is a normalisation of auto, computed from the training split. */
static int fix_settings(session *s, char *err, size_t errlen)
{
    if (rt_trainer_resolve_normalisation(&s->cfg, &s->data.train, &s->split, err, errlen))
        return -1;
    rt_schedule_resolve(&s->cfg, (long long)rt_batch_count(s->split.ntrain, (size_t)s->cfg.batch));
    s->config_text = rt_config_format(&s->cfg);
    return s->config_text ? 0 : rt_fail(err, errlen, "out of memory");
}

/* The precision of the train steps: bf16 where asked for and the CPU has it (the header
 * says when it has not).  The generated evaluation is always fp32. */
static rt_precision train_precision(const rt_train_config *c)
{
    return c->precision == PRECISION_BF16 && rt_bf16_available() ? RT_BF16 : RT_FP32;
}

static int session_open(session *s, char *err, size_t errlen)
{
    const rt_model *m = s->m;
    const rt_train_options *o = s->o;
    rt_ckpt ck;
    int have_ck = 0;
    if (o->resume) {
        if (rt_trainer_open_ckpt(&ck, o->resume, m, err, errlen))
            return -1;
        have_ck = 1;
    }
    if (take_settings(s, have_ck ? &ck : NULL, err, errlen) || rt_trainer_load_data(&s->data, &s->cfg, m, err, errlen) ||
        rt_trainer_split(&s->split, &s->data.train, &s->cfg, err, errlen) || fix_settings(s, err, errlen) ||
        rt_trainer_xform(&s->xf, &s->data.train, &s->cfg, m, err, errlen))
        goto fail;
    s->data_shape[0] = s->data.train.C;
    s->data_shape[1] = s->data.train.H;
    s->data_shape[2] = s->data.train.W;
    s->data_sizes[0] = s->data.train.n;
    s->data_sizes[1] = s->data.test.n;
    float bg[RT_DATA_MAX_CHANNELS];
    for (int c = 0; c < s->xf.C; c++)
        bg[c] = s->xf.lut[c][0];
    if (rt_augment_init(&s->aug, &s->cfg, s->xf.C, s->xf.H, s->xf.W, bg, err, errlen) ||
        alloc_buffers(s, err, errlen) || make_names_text(s))
        goto fail;
    if (rt_net_alloc(&s->net, m)) {
        rt_fail(err, errlen, "out of memory for model %s", m->name);
        goto fail;
    }
    s->net_ok = 1;
    s->net.precision = train_precision(&s->cfg);
    if (s->cfg.precision == PRECISION_BF16 && s->net.precision != RT_BF16)
        fprintf(stderr, "%s: note: precision bf16: this CPU or build has no AVX512_BF16 (vdpbf16ps); training in fp32\n",
                s->o->prog);
    if (s->cfg.shards > 1 && rt_shards_init(&s->sh, m, &s->ranks, (int)s->cfg.shards, err, errlen))
        goto fail;
    uint64_t seed = (uint64_t)s->cfg.seed;
    m->init(&s->net, seed);
    rt_rng_seed(&s->net.rng, seed, STREAM_DROPOUT);
    rt_rng_seed(&s->rng_data, seed, STREAM_DATA);
    rt_rng_seed(&s->rng_aug, seed, STREAM_AUGMENT);
    s->es.best = INFINITY;
    s->lr = rt_lr_at(&s->cfg, 0, 0);
    if (have_ck) {
        if (load_state(s, &ck, err, errlen))
            goto fail;
        rt_ckpt_close(&ck);
        have_ck = 0;
        s->saved = 1;
    } else if (o->init_from && rt_trainer_import_npz(o->init_from, m, &s->net, err, errlen)) {
        return -1;
    }
    rt_config_hparams(&s->cfg, &s->net.h);
    return 0;
fail:
    if (have_ck)
        rt_ckpt_close(&ck);
    return -1;
}

/* ---- the run's lock ---- */

/* One run at a time writes a checkpoint, its log and its best: an advisory lock (flock)
 * on base.lock, taken before any of them is touched and held until the run ends, when
 * the file is removed.  A run that locked a file another run had just removed (the
 * path no longer names the inode it holds) counts as refused, so two runs never both
 * hold the path's lock.  A killed run leaves its file behind, unlocked: the next run
 * takes it. */
static int take_lock(session *s, char *err, size_t errlen)
{
    snprintf(s->lock_path, sizeof s->lock_path, "%s.lock", s->base);
    const char *path = s->lock_path;
    s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (s->lock_fd < 0)
        return rt_fail(err, errlen, "%s: cannot create the lock of %s: %s", path, s->base, strerror(errno));
    struct stat held, named;
    int e = flock(s->lock_fd, LOCK_EX | LOCK_NB) == 0 ? 0 : errno;
    if (e == 0 && fstat(s->lock_fd, &held) == 0 && stat(path, &named) == 0 && held.st_ino == named.st_ino &&
        held.st_dev == named.st_dev)
        return 0;
    close(s->lock_fd);
    s->lock_fd = -1;
    if (e == 0 || e == EWOULDBLOCK)
        return rt_fail(err, errlen, "%s is being written by another training run (it holds %s); wait for it to "
                       "end, or train into another --out", s->base, path);
    return rt_fail(err, errlen, "%s: cannot lock: %s", path, strerror(e));
}

static void drop_lock(session *s)
{
    if (s->lock_fd < 0)
        return;
    unlink(s->lock_path);   /* while still held: a run that opened it meanwhile sees it gone */
    close(s->lock_fd);
    s->lock_fd = -1;
}

static void session_close(session *s)
{
    free(s->config_text);
    free(s->names_text);
    if (s->net_ok)
        rt_net_free(&s->net);
    rt_data_free(&s->data);
    rt_split_free(&s->split);
    rt_augment_free(&s->aug);
    rt_eval_buffers_free(&s->eb);
    free(s->x);
    free(s->xmix);
    free(s->targets);
    free(s->probs);
    free(s->labels);
    free(s->perm);
    free(s->order);
    free(s->x2);
    free(s->lam);
    free(s->labels2);
    free(s->order2);
    rt_shards_free(&s->sh);
    drop_lock(s);

}

/* ---- the CSV log ---- */

static const char CSV_HEADER[] = "epoch,train_loss,train_acc,valid_loss,valid_acc,test_acc,lr,seconds";

/* A fresh run starts the log; a resumed one copies from the resumed checkpoint's log
 * the lines of the epochs that checkpoint has done (a kill between the log line and the
 * checkpoint would otherwise leave a line for an epoch that is then run again). */
static int csv_start(session *s, char *err, size_t errlen)
{
    if (!s->writer)
        return 0;
    char tmp[1200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", s->csv, (int)getpid());
    FILE *out = fopen(tmp, "w");
    if (!out)
        return rt_fail(err, errlen, "%s: cannot create: %s", tmp, strerror(errno));
    fprintf(out, "%s%s\n", CSV_HEADER, s->cfg.eval_mixup > 0 ? ",valid_mixup_acc" : "");
    /* The resumed checkpoint's log; for one of a pattern's files, the pattern's log. */
    char old[1100];
    snprintf(old, sizeof old, "%s.csv", s->o->resume ? s->o->resume : "");
    FILE *in = s->o->resume ? fopen(old, "r") : NULL;
    if (!in && s->o->resume)
        in = fopen(s->csv, "r");
    if (in) {
        char line[1024];
        while (fgets(line, sizeof line, in)) {
            char *end;
            unsigned long long e = strtoull(line, &end, 10);
            if (end != line && *end == ',' && e >= 1 && e <= s->epoch)
                fputs(line, out);
        }
        fclose(in);
    }
    if (fclose(out) != 0 || rename(tmp, s->csv) != 0) {
        int e = errno;
        unlink(tmp);
        return rt_fail(err, errlen, "%s: cannot write: %s", s->csv, strerror(e));
    }
    return 0;
}

static int csv_append(const session *s, const char *line, char *err, size_t errlen)
{
    if (!s->writer)
        return 0;
    FILE *f = fopen(s->csv, "a");
    if (!f)
        return rt_fail(err, errlen, "%s: cannot open: %s", s->csv, strerror(errno));
    fputs(line, f);
    if (fclose(f) != 0)
        return rt_fail(err, errlen, "%s: cannot write: %s", s->csv, strerror(errno));
    return 0;
}

/* ---- the loop ---- */

/* The line naming augmentation, MixUp, label smoothing and early stopping, those on:
 * "augment rotate 10, flip true; mixup 0.2 (pairs); early stopping patience 5 by valid_acc". */
static void print_regularisers(const rt_train_config *c)
{
    char aug[512];
    const char *sep = "";
    if (rt_augment_describe(c, aug, sizeof aug)[0]) {
        printf("augment %s", aug);
        sep = "; ";
    }
    if (c->mixup > 0) {
        printf("%smixup %g (%s: %s)", sep, c->mixup, setting_specs[SETTING_mixup_mode].words[c->mixup_mode],
               c->mixup_mode == MIXUP_PAIRS ? "a lambda an image, partners from a second shuffle"
                                            : "a lambda a batch, partners from the batch");
        sep = "; ";
    }
    if (c->label_smoothing > 0) {
        printf("%slabel smoothing %g", sep, c->label_smoothing);
        sep = "; ";
    }
    if (c->es_patience > 0) {
        printf("%searly stopping patience %lld by %s", sep, c->es_patience,
               setting_specs[SETTING_es_monitor].words[c->es_monitor]);
        if (c->es_min_delta > 0)
            printf(", min_delta %g", c->es_min_delta);
        if (c->es_restore_best)
            printf(", restore best");
        sep = "; ";
    }
    if (sep[0])
        printf("\n");
}

static void print_header(const session *s)
{
    const rt_model *m = s->m;
    const rt_train_config *c = &s->cfg;
    printf("model %s: %zu parameters, input %dx%dx%d, %d classes\n", m->name, m->nparams, m->in_c, m->in_h, m->in_w,
           m->classes);
    printf("data %s (%s): %zu train, %zu valid, %zu test; images %dx%dx%d", c->data,
           rt_data_format_name(s->data.format), s->split.ntrain, s->split.nvalid, s->data.test.n, s->data.train.C,
           s->data.train.H, s->data.train.W);
    if (s->xf.H != s->xf.h || s->xf.W != s->xf.w)
        printf(", padded to %dx%d", s->xf.H, s->xf.W);
    printf("\n");
    printf("%s lr %g", setting_specs[SETTING_optimizer].words[c->optimizer], c->lr);
    if (c->schedule != SCHEDULE_CONSTANT)
        printf(" (%s schedule)", setting_specs[SETTING_schedule].words[c->schedule]);
    printf(", batch %lld, %lld epochs, seed %lld, %zu steps an epoch\n", c->batch, c->epochs, c->seed,
           rt_batch_count(s->split.ntrain, (size_t)c->batch));
    print_regularisers(c);
    if (s->net.precision == RT_BF16)
        printf("precision bf16: the stride-1 convolutions' products from bf16 factors, summed in fp32; "
               "fp32 weights, optimizer and evaluation\n");
    else if (c->precision == PRECISION_BF16)
        printf("precision bf16 asked for, but this CPU or build has no AVX512_BF16: training in fp32\n");
    if (c->shards > 1)
        printf("data-parallel: each batch as %lld shards, %lld on each of %d rank%s, gradients summed in shard order\n",
               c->shards, c->shards / s->ranks.size, s->ranks.size, s->ranks.size > 1 ? "s" : "");
    if (s->o->resume)
        printf("resuming %s: %llu epochs done, %llu/%zu images into epoch %llu, step %llu\n", s->o->resume,
               (unsigned long long)s->epoch, (unsigned long long)s->pos, s->split.ntrain,
               (unsigned long long)s->epoch + 1, (unsigned long long)s->step);
    if (s->split.nvalid > 0)
        printf("checkpoint %s, log %s, best (by %s) %s\n", s->o->out, s->csv,
               setting_specs[SETTING_es_monitor].words[c->es_monitor], s->best);
    else
        printf("checkpoint %s, log %s\n", s->o->out, s->csv);
    fflush(stdout);
}

/* One optimizer step on n images: the model's train_step, or with shards the step over
 * shards and ranks, which also agrees on s->stop; NaN if that fails (in err). */
static float step_on(session *s, const float *x, const int32_t *labels, const float *targets, int n, char *err,
                     size_t errlen)
{
    s->stop = stop_signal;
    if (s->cfg.shards == 1)
        return s->m->train_step(&s->net, x, labels, targets, n, s->probs);
    rt_shard_batch batch = { x, labels, targets, n, s->image_floats };
    float loss;
    if (rt_shards_step(&s->sh, &s->net, &batch, s->probs, &loss, &s->stop, err, errlen))
        return NAN;
    return loss;
}

/* Soft targets or a mix for this batch; then one optimizer step.  Adds to the epoch's
 * sums.  Returns the loss. */
static float train_batch(session *s, size_t b, char *err, size_t errlen)
{
    const rt_model *m = s->m;
    const rt_train_config *c = &s->cfg;
    int K = m->classes, n = (int)b;
    for (size_t i = 0; rt_augment_active(&s->aug) && i < b; i++)
        rt_augment_image(&s->aug, s->x + i * s->image_floats, &s->rng_aug);
    s->lr = rt_lr_at(c, (long long)s->epoch, (long long)s->step);
    s->net.h.lr = (float)s->lr;
    float loss, lam = 1.0f;
    if (mixing_pairs(c)) {
        for (size_t i = 0; rt_augment_active(&s->aug) && i < b; i++)
            rt_augment_image(&s->aug, s->x2 + i * s->image_floats, &s->rng_aug);
        rt_mixup_pairs(s->x, s->targets, s->lam, s->x2, s->labels, s->labels2, n, s->image_floats, K, c->mixup,
                       (float)c->label_smoothing, &s->rng_aug);
        loss = step_on(s, s->x, NULL, s->targets, n, err, errlen);
    } else if (c->mixup > 0) {
        lam = rt_mixup(s->xmix, s->targets, s->perm, s->x, s->labels, n, s->image_floats, K, c->mixup,
                       (float)c->label_smoothing, &s->rng_aug);
        loss = step_on(s, s->xmix, NULL, s->targets, n, err, errlen);
    } else if (c->label_smoothing > 0) {
        rt_soft_targets(s->targets, s->labels, n, K, (float)c->label_smoothing, 1.0f, 0);
        loss = step_on(s, s->x, NULL, s->targets, n, err, errlen);
    } else {
        loss = step_on(s, s->x, s->labels, NULL, n, err, errlen);
    }
    size_t correct = 0;
    for (int i = 0; i < n; i++) {
        /* Under MixUp an image counts as right if it shows the class weighing more. */
        int32_t want = s->labels[i];
        if (mixing_pairs(c))
            want = s->lam[i] < 0.5f ? s->labels2[i] : want;
        else if (c->mixup > 0 && lam < 0.5f)
            want = s->labels[s->perm[i]];
        correct += rt_argmax(s->probs + (size_t)i * K, K) == want;
    }
    s->sums.loss_sum += (double)loss * (double)b;
    s->sums.correct += (double)correct;
    s->sums.images += (double)b;
    return loss;
}

static int stopped_early(const session *s)
{
    return s->cfg.es_patience > 0 && s->es.epochs_since >= (double)s->cfg.es_patience;
}

static const char *monitor_name(const session *s)
{
    return s->cfg.es_monitor == MONITOR_VALID_ACC ? "validation accuracy" : "validation loss";
}

/* The monitored metric of a best score (the accuracy is kept negated). */
static double monitor_value(const session *s, double score)
{
    return s->cfg.es_monitor == MONITOR_VALID_ACC ? -score : score;
}

/* After an epoch's validation: whether it is the best so far, by more than min_delta. */
static int note_epoch(session *s, double vloss, double vacc)
{
    double score = s->cfg.es_monitor == MONITOR_VALID_ACC ? -vacc : vloss;
    if (score < s->es.best - s->cfg.es_min_delta) {
        s->es.best = score;
        s->es.best_epoch = (double)s->epoch;
        s->es.epochs_since = 0;
        return 1;
    }
    s->es.epochs_since += 1;
    return 0;
}

/* The signal to stop on now: one process reads the flag; the ranks of an MPI run stop
 * on the one their last step agreed on, so that all stop at the same step. */
static int stop_asked(session *s)
{
    if (s->ranks.size == 1)
        s->stop = stop_signal;
    return s->stop;
}

static int interrupted(session *s, char *err, size_t errlen)
{
    int sig = s->stop;
    fprintf(stderr, "%s: %s at epoch %llu, %llu/%zu images, step %llu: saving a checkpoint\n", s->o->prog,
            sig == SIGINT ? "interrupted (SIGINT)" : "terminated (SIGTERM)", (unsigned long long)s->epoch + 1,
            (unsigned long long)s->pos, s->split.ntrain, (unsigned long long)s->step);
    if (save_now(s, 1, err, errlen))
        return -1;
    fprintf(stderr, "%s: saved %s; continue with --resume %s\n", s->o->prog, s->last, s->last);
    return 128 + sig;
}

/* One epoch from the current position to its end, its evaluation, log line and
 * checkpoint.  Returns 0, 1 on error (reported in err), 128+signal when interrupted. */
static int run_epoch(session *s, double *test_acc, char *err, size_t errlen)
{
    const rt_model *m = s->m;
    const rt_train_config *c = &s->cfg;
    size_t ntrain = s->split.ntrain, batch = (size_t)c->batch;
    if (s->pos == 0) {
        for (size_t i = 0; i < ntrain; i++)
            s->order[i] = s->split.train[i];
        rt_rng_shuffle(&s->rng_data, s->order, ntrain);
        memset(&s->sums, 0, sizeof s->sums);
    }
    if (mixing_pairs(c)) {   /* at a resume in the epoch too: it is the epoch's */
        rt_rng pairs;
        rt_rng_seed(&pairs, (uint64_t)c->seed, STREAM_PAIRS + s->epoch);
        for (size_t i = 0; i < ntrain; i++)
            s->order2[i] = s->split.train[i];
        rt_rng_shuffle(&pairs, s->order2, ntrain);
    }
    double t0 = rt_clock_seconds();
    char label[64];
    snprintf(label, sizeof label, "epoch %llu/%lld", (unsigned long long)s->epoch + 1, c->epochs);
    rt_progress bar;
    rt_progress_begin(&bar, stderr, label, rt_batch_count(ntrain - s->pos, batch));
    size_t steps = 0, images = 0;
    while (s->pos < ntrain) {
        size_t b = ntrain - s->pos < batch ? ntrain - s->pos : batch;
        if (rt_batch_fill(&s->xf, &s->data.train, s->order + s->pos, b, s->x, s->labels, err, errlen) ||
            (mixing_pairs(c) &&
             rt_batch_fill(&s->xf, &s->data.train, s->order2 + s->pos, b, s->x2, s->labels2, err, errlen)))
            return 1;
        err[0] = 0;
        float loss = train_batch(s, b, err, errlen);
        if (err[0])
            return 1;
        if (!isfinite(loss)) {
            rt_progress_end(&bar);
            char last[1200];
            if (s->saved)
                snprintf(last, sizeof last, "the last good checkpoint is %s", s->last);
            else
                snprintf(last, sizeof last, "no checkpoint was saved");
            snprintf(err, errlen, "the loss is %s at epoch %llu, step %llu (batch %zu of the epoch, lr %g): training stopped; %s",
                     isnan(loss) ? "NaN" : "infinite", (unsigned long long)s->epoch + 1, (unsigned long long)s->step + 1,
                     (size_t)(s->pos / batch) + 1, s->lr, last);
            return 1;
        }
        s->pos += b;
        s->step++;
        steps++;
        images += b;
        rt_progress_update(&bar, steps, images, s->sums.loss_sum / s->sums.images);
        if (s->o->save_every > 0 && s->step % (uint64_t)s->o->save_every == 0) {
            s->sums.seconds += rt_clock_seconds() - t0;
            t0 = rt_clock_seconds();
            if (save_now(s, 1, err, errlen))
                return 1;
        }
        if (stop_asked(s)) {
            rt_progress_end(&bar);
            s->sums.seconds += rt_clock_seconds() - t0;
            int rc = interrupted(s, err, errlen);
            return rc < 0 ? 1 : rc;
        }
    }
    rt_progress_end(&bar);
    double vloss = 0, vacc = 0, mloss, macc = 0, tloss, tacc;
    rt_eval_xform mixed = { NULL, c->eval_mixup, (uint64_t)c->seed };
    if (s->split.nvalid > 0 && rt_trainer_evaluate(m, &s->net, &s->xf, &s->data.train, s->split.valid,
                                                   s->split.nvalid, &s->eb, &vloss, &vacc, NULL, err, errlen))
        return 1;
    if (c->eval_mixup > 0 && rt_trainer_evaluate_xformed(m, &s->net, &s->xf, &s->data.train, s->split.valid,
                                                         s->split.nvalid, &mixed, &mloss, &macc, NULL, err, errlen))
        return 1;
    if (rt_trainer_evaluate(m, &s->net, &s->xf, &s->data.test, NULL, s->data.test.n, &s->eb, &tloss, &tacc, NULL, err, errlen))
        return 1;
    *test_acc = tacc;
    double seconds = s->sums.seconds + rt_clock_seconds() - t0;
    double tr_loss = s->sums.images > 0 ? s->sums.loss_sum / s->sums.images : 0;
    double tr_acc = s->sums.images > 0 ? s->sums.correct / s->sums.images : 0;
    s->epoch++;
    s->pos = 0;
    memset(&s->sums, 0, sizeof s->sums);
    int best = s->split.nvalid > 0 && note_epoch(s, vloss, vacc);
    char valid[96] = "valid -", vcsv[64] = ",", mix[48] = "", mcsv[32] = "";
    if (s->split.nvalid > 0) {
        snprintf(valid, sizeof valid, "valid loss %.4f acc %.4f", vloss, vacc);
        snprintf(vcsv, sizeof vcsv, "%.6f,%.6f", vloss, vacc);
    }
    if (c->eval_mixup > 0) {
        snprintf(mix, sizeof mix, " mixed acc %.4f", macc);
        snprintf(mcsv, sizeof mcsv, ",%.6f", macc);
    }
    printf("epoch %llu/%lld: train loss %.4f acc %.4f | %s%s | test acc %.4f | lr %.6g | %.1fs\n",
           (unsigned long long)s->epoch, c->epochs, tr_loss, tr_acc, valid, mix, tacc, s->lr, seconds);
    fflush(stdout);
    char line[512];
    snprintf(line, sizeof line, "%llu,%.6f,%.6f,%s,%.6f,%.9g,%.3f%s\n", (unsigned long long)s->epoch, tr_loss, tr_acc,
             vcsv, tacc, s->lr, seconds, mcsv);
    /* The best first: a kill before the epoch's checkpoint reruns the epoch, which is
     * then the best again and rewrites it. */
    if (csv_append(s, line, err, errlen) || (best && save_checkpoint(s, s->best, err, errlen)) ||
        save_now(s, 0, err, errlen))
        return 1;
    if (stop_asked(s)) {
        int rc = interrupted(s, err, errlen);
        return rc < 0 ? 1 : rc;
    }
    return 0;
}

static void install_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND;   /* a second Ctrl-C kills at once */
    stop_signal = 0;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* The log and the best checkpoint beside o->out (its {epoch} field removed); a fresh run
 * drops an old run's best, a resumed one into another file takes the resumed one's. */
static int start_files(session *s, char *err, size_t errlen)
{
    if (out_path(s->o->out, -1, s->base, sizeof s->base))
        return rt_fail(err, errlen, "--out %s: the epoch field must be {epoch} or {epoch:0Nd}", s->o->out);
    snprintf(s->csv, sizeof s->csv, "%s.csv", s->base);
    snprintf(s->best, sizeof s->best, "%s.best", s->base);
    snprintf(s->last, sizeof s->last, "%s", s->o->resume ? s->o->resume : "");
    if (!s->writer)
        return 0;
    if (take_lock(s, err, errlen))
        return -1;
    if (!s->o->resume) {
        unlink(s->best);
        return 0;
    }
    char from[1100];
    snprintf(from, sizeof from, "%s.best", s->o->resume);
    if (strcmp(from, s->best) != 0 && access(from, F_OK) == 0)
        return copy_file(from, s->best, err, errlen);
    return 0;
}

/* restore_best: the run ends with the best epoch's whole state, read back from
 * CKPT.best and written as the run's checkpoint (for an {epoch} pattern, CKPT.best is
 * the result). */
static int restore_best(session *s, char *err, size_t errlen)
{
    if (!s->cfg.es_restore_best || s->es.best_epoch <= 0 || s->es.best_epoch == (double)s->epoch)
        return 0;
    rt_ckpt ck;
    if (rt_trainer_open_ckpt(&ck, s->best, s->m, err, errlen))
        return -1;
    double best = s->es.best_epoch;
    int rc = load_state(s, &ck, err, errlen);
    rt_ckpt_close(&ck);
    if (rc == 0 && !strstr(s->o->out, "{epoch"))
        rc = save_checkpoint(s, s->o->out, err, errlen);
    if (rc == 0)
        printf("restored the best epoch, %.0f (%s %.4f), from %s\n", best, monitor_name(s),
               monitor_value(s, s->es.best), s->best);
    return rc;
}

int rt_train_run(const rt_model *m, const rt_train_options *o)
{
    session s;
    memset(&s, 0, sizeof s);
    s.m = m;
    s.o = o;
    s.lock_fd = -1;
    char err[2048] = "";
    int rc = 0;
    if (rt_ranks_start(&s.ranks, err, sizeof err)) {
        say_error(&s, "%s", err);
        return 1;
    }
    s.writer = s.ranks.rank == 0;
    if (!s.writer && (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))) {
        rt_ranks_stop(&s.ranks, 1);
        return 1;
    }
    int failed = start_files(&s, err, sizeof err) || session_open(&s, err, sizeof err) ||
                 csv_start(&s, err, sizeof err);
    if (failed)
        say_error(&s, "%s", err);
    if (rt_ranks_any(&s.ranks, failed)) {
        if (!failed)   /* rank 0 started; another rank's reason went to its /dev/null */
            say_error(&s, "another MPI rank could not start the run (run it in one process to see why)");
        session_close(&s);
        rt_ranks_stop(&s.ranks, 0);   /* every rank knows: no abort, rank 0's message gets out */
        return 1;
    }
    if (!o->quiet)
        print_header(&s);
    double test_acc = -1;
    install_handlers();
    if (stopped_early(&s))
        printf("training stopped early at epoch %.0f (best %s %.4f at epoch %.0f); nothing to resume\n",
               (double)s.epoch, monitor_name(&s), monitor_value(&s, s.es.best), s.es.best_epoch);
    if ((uint64_t)s.cfg.epochs <= s.epoch && o->resume)
        printf("%s has done %llu epochs, and the run is %lld epochs; nothing to train (--epochs N to go on)\n",
               o->resume, (unsigned long long)s.epoch, s.cfg.epochs);
    if (!o->resume && s.cfg.epochs == 0 && save_now(&s, 0, err, sizeof err)) {
        say_error(&s, "%s", err);
        rc = 1;
    }
    while (rc == 0 && s.epoch < (uint64_t)s.cfg.epochs && !stopped_early(&s)) {
        rc = run_epoch(&s, &test_acc, err, sizeof err);
        if (rc == 1)
            say_error(&s, "%s", err);
        if (rc == 0 && stopped_early(&s))
            printf("early stopping: no better %s for %lld epochs (best %.4f at epoch %.0f); stopped\n",
                   monitor_name(&s), s.cfg.es_patience, monitor_value(&s, s.es.best), s.es.best_epoch);
    }
    rt_ranks_barrier(&s.ranks);   /* rank 0 has written CKPT.best before another reads it */
    if (rc == 0 && restore_best(&s, err, sizeof err)) {
        say_error(&s, "%s", err);
        rc = 1;
    }
    if (rc == 0 && s.cfg.es_restore_best)
        test_acc = -1;   /* the restored weights' */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (rc == 0 && test_acc < 0) {
        double tloss;
        if (rt_trainer_evaluate(m, &s.net, &s.xf, &s.data.test, NULL, s.data.test.n, &s.eb, &tloss, &test_acc, NULL, err,
                                sizeof err)) {
            say_error(&s, "%s", err);
            rc = 1;
        }
    }
    if (rc == 0)
        printf("test accuracy: %.4f\n", test_acc);
    session_close(&s);
    rt_ranks_stop(&s.ranks, rc);
    return rc;
}
