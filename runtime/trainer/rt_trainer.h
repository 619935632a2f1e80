/* rt_trainer.h -- the trainer layer of the runtime (runtime/trainer/): the program
 * `netc build` makes of a model.  Depends on every layer below (plot, io, kernels, core).
 *
 * A built trainer is the generated model plus a two-line main that calls
 * rt_trainer_main with the model's rt_model table.  Everything else -- the command
 * line, the training loop, checkpoints, evaluation, prediction, export -- lives here,
 * generic over the model.  docs/trainer.md is the user's manual.
 *
 * The files, in the order a run goes through them:
 *   cli_main.c       rt_trainer_main: re-exec for OpenBLAS, commands, option parsing, help
 *   train_config.c   the train settings: one table; parsing, printing, checking
 *   train_data.c     data set and checkpoint plumbing shared by every command
 *   train_ckpt.c     what a trainer's checkpoint must hold, checked on every load
 *   train_loop.c     the `train` command: epochs, checkpoints, signals, CSV
 *   train_shards.c   a step on a batch cut into shards, spread over MPI ranks
 *   train_mpi.c      the ranks: MPI when built with it (NETC_MPI), else one rank
 *   train_schedule.c learning-rate schedules; the `schedule` command
 *   train_augment.c  augmentation, MixUp, label smoothing, Beta sampling
 *   eval_xform.c     evaluation on augmented or MixUp'ed data
 *   cli_eval.c       the `eval`, `predict`, `export` and `info` commands
 *   cli_plot.c       the `plot` command: its figures drawn by the plot layer (runtime/plot)
 * Functions below the program's entry point are the trainer's internals, declared
 * here (a section per file) so that tests/unit/test_trainer.c can reach them. */
#ifndef NETC_RT_TRAINER_H
#define NETC_RT_TRAINER_H

#include <stdio.h>
#include "../io/rt_io.h"
#include "../kernels/rt_kernels.h"
#include "../../common/settings.h"

/* ---- the program (cli_main.c) ----
 * `PROG COMMAND [OPTIONS]`; returns the process exit status: 0 success, 1 failure
 * (a message naming the file and the problem is on stderr), 2 usage error, 130/143
 * after SIGINT/SIGTERM stopped training (with a checkpoint saved). */
int rt_trainer_main(const rt_model *m, int argc, char **argv);

/* ---- train settings (train_config.c) ----
 * The settings of a .net train section (m->settings: "key=value" lines, every key the
 * compiler knows, defaults filled in), plus a few the trainer adds (limit, test_limit).
 * They are listed once, in common/settings.def, for the compiler and the trainer
 * alike: each key's kind, allowed words, range, default and help, as setting_specs[]
 * indexed by setting_id (common/settings.h).  That table drives parsing the model's
 * settings and a checkpoint's, the command-line options, the help text and the
 * settings saved in checkpoints.  A word setting is held as its enum. */

typedef struct {
    setting_optimizer optimizer;
    double lr, momentum, weight_decay, beta1, beta2, eps;
    int nesterov;
    long long batch, epochs, seed;
    char data[1024];
    setting_format format;
    double valid_split;
    setting_split split;
    setting_channels mean, std;   /* given only if set[] says so; n 0: auto, resolved by a run */
    setting_schedule schedule;
    setting_unit schedule_unit;          /* given only if set[] says so: rt_schedule_unit */
    setting_cyclic_mode cyclic_mode;
    long long t_max, step_size, t_0, t_mult;
    double eta_min, gamma, base_lr, max_lr;
    double aug_crop, aug_rotate, aug_erase;
    long long aug_shift, aug_pad_crop;
    int aug_flip;
    double aug_crop_max, aug_shift_fraction;
    double aug_erase_scale_min, aug_erase_scale_max, aug_erase_ratio_min, aug_erase_ratio_max;
    double mixup, label_smoothing;
    setting_mixup_mode mixup_mode;
    long long es_patience;          /* early_stopping { patience monitor min_delta restore_best } */
    setting_monitor es_monitor;
    double es_min_delta;
    int es_restore_best;
    double eval_mixup;
    setting_precision precision;
    long long limit, test_limit;   /* trainer only: first N train / test images (0: all) */
    long long shards;              /* trainer only: a batch computed as N shards (train_shards.c) */
    unsigned char set[SETTING_COUNT];   /* set[id]: setting id has a value */
} rt_train_config;

/* The entry for a key in .net spelling ("schedule.t_max") or option spelling
 * ("schedule-t-max", "t_max" is not accepted); NULL if none. */
const setting_spec *rt_config_find(const char *name);
/* "--schedule-t-max": the option of an entry, into buf. */
const char *rt_config_option_name(const setting_spec *e, char *buf, size_t len);
/* Every entry at its default (optional ones unset). */
void rt_config_init(rt_train_config *c);
/* Sets one key from text, checking type, words and range. */
int rt_config_set(rt_train_config *c, const setting_spec *e, const char *value, char *err,
                  size_t errlen);
/* Applies "key=value" lines; origin names the text in errors ("model settings"). */
int rt_config_parse_text(rt_train_config *c, const char *text, const char *origin, char *err,
                         size_t errlen);
/* The value of one entry as text (a double in the fewest digits that read back exactly);
 * "" if unset.  Returns buf. */
const char *rt_config_value(const rt_train_config *c, const setting_spec *e, char *buf,
                            size_t len);
/* Every set entry as "key=value\n" lines, malloc'd; NULL if out of memory. */
char *rt_config_format(const rt_train_config *c);
/* Whether entry e is set (c->set[SETTING_x] for a known one). */
int rt_config_is_set(const rt_train_config *c, const setting_spec *e);
/* Checks the settings together against the model: batch <= max_batch, the arguments
 * each schedule needs, augmentations this trainer implements, ... */
int rt_config_check(const rt_train_config *c, const rt_model *m, char *err, size_t errlen);
/* Fills the optimizer fields of h from c (lr is then set per batch by the schedule). */
void rt_config_hparams(const rt_train_config *c, rt_hparams *h);

/* ---- learning-rate schedules (train_schedule.c) ----
 * The learning rate of the optimizer step taken in epoch `epoch` (0-based) as global
 * step `step` (0-based), in closed form, so that a resumed run continues the same
 * sequence: constant; cosine (CosineAnnealingLR); step (StepLR); warm_restarts
 * (CosineAnnealingWarmRestarts); cyclic (CyclicLR, modes triangular, triangular2,
 * exp_range).  A schedule counts epochs or steps (rt_schedule_unit): PyTorch's
 * scheduler.step() after every epoch, or after every batch.  A cosine without t_max
 * needs rt_schedule_resolve first when it counts steps. */
double rt_lr_at(const rt_train_config *c, long long epoch, long long step);
/* schedule.unit if given; else step for cyclic, epoch for the others. */
setting_unit rt_schedule_unit(const rt_train_config *c);
/* Fills the defaults a run decides when it starts: cosine's t_max, the run's epochs (in
 * steps: epochs x steps_per_epoch).  Set in c, it is saved with the run's settings. */
void rt_schedule_resolve(rt_train_config *c, long long steps_per_epoch);

/* The schedule of a run of `epochs` epochs of steps_per_epoch steps: a point per step
 * when it counts steps, else one per epoch (its first step), malloc'd into *out (the
 * series a plot draws).  Returns the count, or -1 (out of memory, more than
 * RT_LR_SERIES_MAX points). */
#define RT_LR_SERIES_MAX 100000000LL
typedef struct {
    long long epoch, step;     /* 0-based */
    double lr;
} rt_lr_point;
long long rt_lr_series(const rt_train_config *c, long long epochs, long long steps_per_epoch, rt_lr_point **out);

/* ---- augmentation, MixUp, label smoothing (train_augment.c) ----
 * Per image, on the float image in the model's frame ([C][H][W] after normalisation and
 * padding), in this order: crop (random resized crop), flip, rotate, shift,
 * shift_fraction, pad_crop, erase.  Every random number comes from the rng passed in. */
typedef struct {
    int C, H, W;
    float bg[RT_DATA_MAX_CHANNELS];   /* the value of a black pixel: fill for new area */
    double crop, crop_max, rotate, erase, shift_fraction;
    double erase_scale[2], erase_ratio[2];   /* the erased box's area fraction, aspect ratio */
    int shift, pad_crop, flip;
    float *scratch;                    /* one image */
} rt_augment;

/* Takes the augment.* settings; bg has C values.  Fails for an image shape or setting
 * it cannot handle. */
int rt_augment_init(rt_augment *a, const rt_train_config *c, int C, int H, int W,
                    const float *bg, char *err, size_t errlen);
int rt_augment_active(const rt_augment *a);
void rt_augment_image(const rt_augment *a, float *img, rt_rng *rng);
/* Moves img by (dy, dx) pixels, fractions interpolated bilinearly, new area bg (the shift
 * of augment.shift, shift_fraction and pad_crop). */
void rt_augment_translate(const rt_augment *a, float *img, double dy, double dx);
/* The box random_resized_crop picks: its corner (may be negative: a box larger than the
 * image, under crop_max > 1) and size; the image as it is when (0, 0, H, W). */
void rt_augment_crop_box(const rt_augment *a, rt_rng *r, int *top, int *left, int *h, int *w);
/* The box random erasing sets to 0 (draws as the erase step does after deciding to
 * erase); 0 if none of its 10 attempts fits. */
int rt_augment_erase_box(const rt_augment *a, rt_rng *r, int *top, int *left, int *h, int *w);
void rt_augment_free(rt_augment *a);

/* Gamma(alpha, 1) (Marsaglia and Tsang) and Beta(a, b) variates. */
double rt_rng_gamma(rt_rng *r, double alpha);
double rt_rng_beta(rt_rng *r, double a, double b);
/* targets[i] = (1 - smoothing) * onehot(labels[i]) + smoothing / K, scaled by w and
 * added to targets when accum, else written. */
void rt_soft_targets(float *targets, const int32_t *labels, int n, int K, float smoothing,
                     float w, int accum);
/* MixUp of a batch: out[i] = lam * x[i] + (1 - lam) * x[perm[i]], targets likewise over
 * the smoothed one-hot labels; perm is a permutation of [0, n) drawn from rng, lam ~
 * Beta(alpha, alpha).  Returns lam. */
float rt_mixup(float *out, float *targets, uint32_t *perm, const float *x, const int32_t *labels,
               int n, size_t image_floats, int K, double alpha, float smoothing, rt_rng *rng);

/* MixUp of two streams (mixup_mode = pairs, notebook 000; eval --mixup): for each image
 * i its own lam[i] ~ Beta(alpha, alpha), x[i] = lam[i] * x[i] + (1 - lam[i]) * x2[i] in
 * place, and, if targets is not NULL, targets[i] the same mix of the smoothed one-hot
 * labels[i] and labels2[i]. */
void rt_mixup_pairs(float *x, float *targets, float *lam, const float *x2, const int32_t *labels,
                    const int32_t *labels2, int n, size_t image_floats, int K, double alpha,
                    float smoothing, rt_rng *rng);
/* "crop 0.8, rotate 10": the augment settings of c that differ from their defaults, into
 * buf ("" if none).  Returns buf. */
const char *rt_augment_describe(const rt_train_config *c, char *buf, size_t len);

/* ---- data and checkpoint plumbing (train_data.c) ---- */

/* The data format that class names come from: idx is MNIST, or Fashion-MNIST when the
 * directory's name says "fashion". */
rt_data_format rt_trainer_data_format(const rt_train_config *c);
/* Loads c->data in c's format for model m, keeps the first limit / test_limit images,
 * and checks the image shape fits the model's input.  Prints nothing. */
int rt_trainer_load_data(rt_data *d, const rt_train_config *c, const rt_model *m, char *err,
                         size_t errlen);
/* The same for some parts of the data (RT_DATA_TRAIN, RT_DATA_TEST): eval and predict on
 * the test split need no training files. */
int rt_trainer_load_data_parts(rt_data *d, const rt_train_config *c, const rt_model *m,
                               unsigned parts, char *err, size_t errlen);
/* The input normalisation of settings c for images of C channels (C 0: as many as c
 * gives, at least 1): mean[k] and std[k] for each channel k (a value given once is
 * every channel's; 0 and 1 when not set).  Returns the channels filled, 0 if there is no
 * normalisation, or -1 with the reason in err: c gives neither 1 nor C values, or one
 * is still auto (only a training run resolves it). */
int rt_trainer_normalisation(const rt_train_config *c, int C, float *mean, float *std, char *err,
                             size_t errlen);
/* Replaces mean = auto and std = auto in c by the per-channel pixel mean and standard
 * deviation (population; pixels scaled to [0, 1]) of the training examples of split s,
 * as notebook 003 computes them, so that the checkpoint's settings hold the numbers
 * eval, predict and export use.  Fails if the images of a channel are all one value
 * (a standard deviation of 0). */
int rt_trainer_resolve_normalisation(rt_train_config *c, const rt_dataset *train, const rt_split *s,
                                     char *err, size_t errlen);
/* The byte -> float transform for model m: c's mean/std, the image centred in the
 * model's input frame (a flat model takes the image as it is). */
int rt_trainer_xform(rt_batch_xform *x, const rt_dataset *ds, const rt_train_config *c,
                     const rt_model *m, char *err, size_t errlen);
/* The validation split of c (split, valid_split, seed). */
int rt_trainer_split(rt_split *s, const rt_dataset *train, const rt_train_config *c, char *err,
                     size_t errlen);
/* The same for n examples; and how many of n it leaves to train on. */
int rt_trainer_split_n(rt_split *s, size_t n, const rt_train_config *c, char *err, size_t errlen);
size_t rt_trainer_split_ntrain(size_t n, const rt_train_config *c);

/* Inference over examples idx[0..n) of ds (idx NULL: its first n) in batches of m->max_batch;
 * x: max_batch images, labels: max_batch, probs: max_batch * classes.  Writes the mean
 * loss and accuracy; adds into confusion[true * classes + predicted] if not NULL; passes
 * each batch to b->sink if set. */
typedef struct {
    float *x, *probs;
    int32_t *labels;
    uint32_t *idx;
    /* If set, given each batch evaluated: its examples' indices into ds, labels and
     * probabilities (bn * classes); NULL after rt_eval_buffers_alloc. */
    void (*sink)(void *ctx, const uint32_t *idx, const int32_t *labels, const float *probs, size_t bn);
    void *sink_ctx;
} rt_eval_buffers;

int rt_eval_buffers_alloc(rt_eval_buffers *b, const rt_model *m);
void rt_eval_buffers_free(rt_eval_buffers *b);
/* The index of the largest of p[0..K). */
int rt_argmax(const float *p, int K);
int rt_trainer_evaluate(const rt_model *m, rt_net *net, const rt_batch_xform *xf,
                        const rt_dataset *ds, const uint32_t *idx, size_t n,
                        rt_eval_buffers *b, double *loss, double *acc, uint64_t *confusion,
                        char *err, size_t errlen);

/* ---- evaluation on transformed data (eval_xform.c) ----
 * rt_trainer_evaluate on examples each augmented by aug (NULL or inactive: not) and,
 * with mixup > 0, MixUp'ed with a partner from one shuffle of the set, one lambda ~
 * Beta(mixup, mixup) per example; loss against the mixed labels, accuracy and confusion
 * against the label weighing more.  Seeded: the same seed gives the same result. */
typedef struct {
    const rt_augment *aug;
    double mixup;
    uint64_t seed;
} rt_eval_xform;

int rt_trainer_evaluate_xformed(const rt_model *m, rt_net *net, const rt_batch_xform *xf,
                                const rt_dataset *ds, const uint32_t *idx, size_t n,
                                const rt_eval_xform *t, double *loss, double *acc,
                                uint64_t *confusion, char *err, size_t errlen);

/* What eval, predict and export need from a checkpoint: the settings it was trained
 * with, the data image shape, the class names, and the weights (into net). */
typedef struct {
    rt_train_config cfg;
    int data_c, data_h, data_w;
    int nclasses;
    char **class_names;       /* [nclasses], malloc'd */
    uint64_t epoch, pos, step;
} rt_ckpt_info;

/* Section `name` (uint8 text) as a malloc'd NUL-terminated string; NULL on failure. */
char *rt_ckpt_get_text(rt_ckpt *ck, const char *name, char *err, size_t errlen);
int rt_trainer_load_weights(const char *path, const rt_model *m, rt_net *net, rt_ckpt_info *info,
                            char *err, size_t errlen);
void rt_ckpt_info_free(rt_ckpt_info *info);

/* ---- what a trainer's checkpoint must hold (train_ckpt.c) ----
 * rt_trainer_check_ckpt checks an opened checkpoint: the model, then every section the
 * trainer writes, its type, count and contents (settings, class names, data shape,
 * position, train.order a permutation of the training split, finite weights and
 * moments, odd PCG increments).  rt_trainer_open_ckpt is rt_ckpt_open and that check;
 * every command reading a checkpoint opens it so. */
int rt_trainer_check_ckpt(rt_ckpt *ck, const rt_model *m, char *err, size_t errlen);
int rt_trainer_open_ckpt(rt_ckpt *ck, const char *path, const rt_model *m, char *err, size_t errlen);

/* Writes params and state as an .npz, one array per entry of m->tensors. */
int rt_trainer_export_npz(const char *path, const rt_model *m, const rt_net *net, char *err,
                          size_t errlen);
/* Reads every tensor of m->tensors from an .npz into net's params and state. */
int rt_trainer_import_npz(const char *path, const rt_model *m, rt_net *net, char *err,
                          size_t errlen);

/* ---- commands (cli_main.c parses the command line; cli_eval.c runs eval, predict,
 * export and info) ---- */
#define RT_CLI_MAX_GIVEN 128

typedef struct {
    char name[64];             /* without "--": "ckpt", "schedule-t-max" */
    const char *value;         /* "true"/"false" for a flag */
} rt_cli_given;

typedef struct {
    const char *prog;          /* argv[0]'s base name, for messages */
    rt_cli_given given[RT_CLI_MAX_GIVEN];
    int ngiven;
    char **files;              /* the arguments that are not options */
    int nfiles;
} rt_cli_args;

/* The value of option `name` as last given, or NULL. */
const char *rt_cli_get(const rt_cli_args *a, const char *name);
/* Option `name` of command cmd as a whole number in [lo, hi] (hi LLONG_MAX: no upper
 * bound) into *value, left alone when the option is not given.  Returns 0, or -1 after
 * reporting "PROG CMD: --NAME must be a whole number ..." on stderr. */
int rt_cli_whole(const rt_cli_args *a, const char *cmd, const char *name, long long lo, long long hi,
                 long long *value);

/* A command: its options, help and what runs it. */
typedef struct {
    const char *name;          /* without "--" */
    const char *arg;           /* the value's name; NULL: a flag */
    const char *help;
} cli_option;

typedef struct {
    const char *name;
    const char *synopsis;
    const char *summary;
    const cli_option *options;
    int noptions;
    const char *settings;      /* takes the train settings whose key starts so as options ("": all) */
    int files;                 /* takes FILE arguments */
    int (*run)(const rt_model *m, const rt_cli_args *a);
    const char *details;
} cli_command;

/* Parses argv[first..argc) for command c into a (a->prog set by the caller).  Returns
 * 0, 1 after printing help, 2 on a usage error (reported). */
int rt_cli_parse(const rt_model *m, const cli_command *c, int argc, char **argv, int first, rt_cli_args *a);
int rt_cmd_eval(const rt_model *m, const rt_cli_args *a);
int rt_cmd_predict(const rt_model *m, const rt_cli_args *a);
int rt_cmd_export(const rt_model *m, const rt_cli_args *a);
int rt_cmd_info(const rt_model *m, const rt_cli_args *a);
/* `schedule [--steps-per-epoch S] [SETTINGS]`: the lr of each step or epoch as CSV
 * (train_schedule.c). */
int rt_cmd_schedule(const rt_model *m, const rt_cli_args *a);
/* `PROG plot KIND [OPTIONS]` (cli_plot.c): argv is the whole command line. */
int rt_cmd_plot(const rt_model *m, int argc, char **argv, const char *prog);

/* ---- the ranks of an MPI run (train_mpi.c) ----
 * rank 0 of size 1 when the process was not started by mpirun (or the trainer was built
 * without MPI, NETC_MPI 0); only then is MPI never initialised. */
typedef struct {
    int rank, size;
    int mpi;                    /* MPI_Init was called */
} rt_ranks;

/* Starts MPI if a launcher (mpirun) started this process as one of several. */
int rt_ranks_start(rt_ranks *r, char *err, size_t errlen);
/* Ends MPI; an exit status 1-127 on any rank aborts every rank (the others would wait). */
void rt_ranks_stop(rt_ranks *r, int rc);
/* all [size * count] = every rank's mine [count], in rank order. */
int rt_ranks_allgather(const rt_ranks *r, const float *mine, float *all, size_t count, char *err, size_t errlen);
void rt_ranks_barrier(const rt_ranks *r);
/* Whether any rank failed, each giving its own verdict: every rank learns it, so all can
 * end together (rt_ranks_stop with 0) once rank 0 has said why, where an abort by one
 * rank could kill rank 0 before its message is out. */
int rt_ranks_any(const rt_ranks *r, int failed);

/* ---- a step on a batch cut into shards (train_shards.c) ----
 * The batch's images [n] (labels or soft targets), cut into `shards` contiguous shards,
 * each run by train_step on its rank from the same weights; the gradients summed in
 * shard order, weighed by each shard's share, then one optimizer step: the same bits on
 * any number of ranks dividing shards. */
typedef struct {
    const rt_model *m;
    const rt_ranks *ranks;
    int shards;
    size_t block;               /* floats of a shard's block */
    float *snap;                /* params, opt1, opt2, state at the step's start */
    float *mine, *all;          /* this rank's shards' blocks; every shard's, in order */
} rt_shards;

typedef struct {
    const float *x;             /* [n, image_floats] */
    const int32_t *labels;      /* [n], or NULL with targets */
    const float *targets;       /* [n, classes], or NULL */
    int n;
    size_t image_floats;
} rt_shard_batch;

int rt_shards_init(rt_shards *sh, const rt_model *m, const rt_ranks *ranks, int shards, char *err, size_t errlen);
void rt_shards_free(rt_shards *sh);
/* One step: probs [n, classes] and *loss as train_step gives them; *stop in: this rank's
 * stop signal (0: none), out: the first shard's that has one, so every rank stops at
 * the same step. */
int rt_shards_step(rt_shards *sh, rt_net *net, const rt_shard_batch *b, float *probs, float *loss, int *stop,
                   char *err, size_t errlen);

/* ---- the train command (train_loop.c) ----
 * Options already parsed: cfg holds the model's settings with the command line's
 * overrides applied; `overrides` are the keys the command line gave, for a resume. */
typedef struct {
    const char *prog;          /* for messages */
    const char *out;           /* checkpoint path */
    const char *resume;        /* checkpoint to resume, or NULL */
    const char *init_from;     /* .npz to initialise from, or NULL */
    long long save_every;      /* also checkpoint every N steps (0: at epoch ends only) */
    int quiet;                 /* no header lines */
    const char *override_keys[SETTING_COUNT];
    const char *override_values[SETTING_COUNT];
    int noverrides;
} rt_train_options;

int rt_train_run(const rt_model *m, const rt_train_options *o);

#endif
