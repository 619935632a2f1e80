/* rt_io.h -- the I/O layer of the runtime (runtime/io/): data sets (data.c), checkpoints
 * (ckpt.c), NumPy .npz archives (npz.c), images for `predict` (image_read.c) and the
 * epoch progress bar (progress.c).  Depends on the core layer, zlib, libzip and libpng.
 *
 * Every function that can fail returns 0 on success and non-zero on failure, and then
 * has written into err[errlen] one line naming the file and the problem, e.g.
 *   "data/train-images-idx3-ubyte.gz: truncated: expected 47040000 bytes of pixels, got 1200".
 * Nothing here exits, prints (except the progress bar) or keeps global state; on failure
 * the outputs are left empty (freed / untouched), never half-filled with garbage. */
#ifndef NETC_RT_IO_H
#define NETC_RT_IO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "../core/rt_core.h"

/* ---- data sets (data.c) ----
 * A data set keeps its images as bytes ([n][C][H][W] uint8, 1 byte a pixel) and
 * converts one batch at a time to float32 for the model.
 *
 * IDX files (MNIST, Fashion-MNIST) are read gzipped or plain (gzip's CRC-32 and length
 * trailer checked, nothing allowed after its last member).  The header
 * is big-endian: magic 0x00000803 then n, rows, cols for images; 0x00000801 then n for
 * labels.  A file must hold exactly what its header announces: missing bytes are
 * "truncated", extra bytes after the last record are "trailing garbage" -- both errors,
 * since either means the file is not the one its name says.
 * CIFAR-10 binary batches are records of 1 label byte + 3072 pixel bytes (3x32x32, CHW);
 * a file must be a whole number of records. */

#define RT_DATA_MAX_CHANNELS 8

typedef enum {
    RT_DATA_MNIST,           /* IDX files, class names "0".."9" */
    RT_DATA_FASHION_MNIST,   /* IDX files, class names T-shirt/top .. Ankle boot */
    RT_DATA_CIFAR10,         /* data_batch_1..5.bin, test_batch.bin, batches.meta.txt */
} rt_data_format;

typedef struct {
    size_t n;              /* number of examples */
    int C, H, W;           /* shape of one image */
    int num_classes;       /* every label is in [0, num_classes) */
    uint8_t *pixels;       /* [n][C][H][W] */
    int32_t *labels;       /* [n] */
} rt_dataset;

typedef struct {
    rt_data_format format;
    rt_dataset train, test;
    int num_classes;
    char **class_names;    /* [num_classes] */
} rt_data;

/* "mnist", "fashion-mnist" (or "fashion_mnist"), "cifar10" (or "cifar-10") -> *fmt. */
int rt_data_format_parse(const char *name, rt_data_format *fmt);
const char *rt_data_format_name(rt_data_format fmt);

/* Reads an IDX image file (magic 0x803) into *pixels ([n][rows][cols], malloc'd; free()).
 * expect_h/expect_w: required rows/cols, 0 = any.  Sets *n, *h, *w. */
int rt_idx_read_images(const char *path, int expect_h, int expect_w, uint8_t **pixels,
                       size_t *n, int *h, int *w, char *err, size_t errlen);
/* Reads an IDX label file (magic 0x801) into *labels ([n], malloc'd; free()); every label
 * must be < num_classes. */
int rt_idx_read_labels(const char *path, int num_classes, int32_t **labels, size_t *n,
                       char *err, size_t errlen);
/* The same two readers on a file's bytes in memory (name stands for the path in
 * messages; any image size, any label). */
int rt_idx_read_images_mem(const char *name, const void *data, size_t size, uint8_t **pixels,
                           size_t *n, int *h, int *w, char *err, size_t errlen);
int rt_idx_read_labels_mem(const char *name, const void *data, size_t size, int32_t **labels,
                           size_t *n, char *err, size_t errlen);
/* An image file and its label file as one data set of shape (C=1, H, W); C/H/W 0 = any.
 * The two files must hold the same number of examples. */
int rt_idx_load(rt_dataset *ds, const char *images_path, const char *labels_path,
                int C, int H, int W, int num_classes, char *err, size_t errlen);
/* Concatenates CIFAR-10 binary batch files (gzipped or plain) into one data set of
 * shape 3x32x32; C/H/W, when not 0, must be 3, 32, 32. */
int rt_cifar10_load(rt_dataset *ds, const char *const *paths, int npaths, int C, int H,
                    int W, int num_classes, char *err, size_t errlen);
/* One CIFAR-10 batch file's bytes in memory as a data set (10 classes). */
int rt_cifar10_read_mem(rt_dataset *ds, const char *name, const void *data, size_t size,
                        char *err, size_t errlen);
/* The name of class k in a format's data sets before any batches.meta.txt: Fashion-MNIST's
 * and CIFAR-10's ten names, else the digits of k (written into digits). */
const char *rt_data_default_name(rt_data_format fmt, int k, char digits[16]);
/* Loads a data directory in the given format: for IDX, {train,t10k}-{images-idx3,
 * labels-idx1}-ubyte, each plain or .gz; for CIFAR-10, data_batch_1..5.bin and
 * test_batch.bin, in DIR or DIR/cifar-10-batches-bin, class names from batches.meta.txt
 * when present (one a line).  (C, H, W) is the image shape the model expects before
 * any padding (0 = any); num_classes 0 = 10.  Free with rt_data_free. */
int rt_data_load(rt_data *d, const char *dir, rt_data_format fmt, int C, int H, int W,
                 int num_classes, char *err, size_t errlen);
/* The same for some of its parts: RT_DATA_TRAIN, RT_DATA_TEST or both; a part not asked
 * for stays empty (n = 0) and its files need not exist. */
#define RT_DATA_TRAIN 1u
#define RT_DATA_TEST 2u
int rt_data_load_parts(rt_data *d, const char *dir, rt_data_format fmt, unsigned parts, int C,
                       int H, int W, int num_classes, char *err, size_t errlen);
/* The part loaded that gives the image shape: the training set, or the test set when only
 * it was loaded. */
const rt_dataset *rt_data_images(const rt_data *d);
void rt_data_free(rt_data *d);
void rt_dataset_free(rt_dataset *ds);

/* Per-channel mean and standard deviation (population) of the pixels scaled to [0, 1],
 * over the examples idx[0..n) (idx NULL: all of ds).  mean/std have ds->C entries. */
int rt_dataset_stats(const rt_dataset *ds, const uint32_t *idx, size_t n, double *mean,
                     double *std, char *err, size_t errlen);

/* How bytes become the model's floats: x = byte/255, then (x - mean[c]) / std[c] when
 * normalising, placed centred in an H x W frame (H >= ds->H, W >= ds->W; an odd margin
 * puts the extra row/column at the bottom/right).  The margin is pixel 0 put through the
 * same mapping -- what torchvision's Pad -> ToTensor -> Normalize gives; without
 * normalisation that is 0.0. */
typedef struct {
    int C, h, w;           /* data image shape */
    int H, W;              /* output image shape */
    int top, left;         /* where the data image sits in the output */
    float lut[RT_DATA_MAX_CHANNELS][256];   /* byte -> float, per channel */
} rt_batch_xform;

/* mean/std: ds->C values each, or both NULL for no normalisation.  H/W 0 = ds->H/W. */
int rt_batch_xform_init(rt_batch_xform *x, const rt_dataset *ds, int H, int W,
                        const float *mean, const float *std, char *err, size_t errlen);
/* Fills out[b][C][H][W] and labels[b] (labels may be NULL) with examples idx[0..b).
 * Fails, writing nothing, if an index is out of range. */
int rt_batch_fill(const rt_batch_xform *x, const rt_dataset *ds, const uint32_t *idx,
                  size_t b, float *out, int32_t *labels, char *err, size_t errlen);

/* A train/validation split of the n training examples, as two ascending index lists. */
typedef enum {
    RT_SPLIT_NONE,     /* all n train, none valid */
    RT_SPLIT_TAIL,     /* first n - round(f*n) train, the last round(f*n) valid */
    RT_SPLIT_RANDOM,   /* round(f*n) examples chosen at random with rng are valid */
} rt_split_kind;

typedef struct {
    uint32_t *train, *valid;   /* malloc'd; free with rt_split_free */
    size_t ntrain, nvalid;
} rt_split;

/* How many of n examples a split puts in validation (0 for RT_SPLIT_NONE or a fraction
 * outside [0, 1)). */
size_t rt_split_nvalid(size_t n, rt_split_kind kind, double valid_frac);
/* valid_frac in [0, 1); rng is used (and advanced) only by RT_SPLIT_RANDOM. */
int rt_split_make(rt_split *s, size_t n, rt_split_kind kind, double valid_frac,
                  rt_rng *rng, char *err, size_t errlen);
void rt_split_free(rt_split *s);

/* Walks an index list in batches of `batch`; the last batch may be partial.
 * Shuffle idx between epochs with rt_rng_shuffle. */
typedef struct {
    const uint32_t *idx;
    size_t n, batch, pos;
} rt_batch_iter;

void rt_batch_iter_init(rt_batch_iter *it, const uint32_t *idx, size_t n, size_t batch);
/* Points *bidx at the next batch's indices and returns its size; 0 when done. */
size_t rt_batch_iter_next(rt_batch_iter *it, const uint32_t **bidx);
/* Number of batches for n examples: ceil(n / batch). */
size_t rt_batch_count(size_t n, size_t batch);

/* ---- checkpoints (ckpt.c) ----
 * A checkpoint is a model's identity (name and a 64-bit structure hash) plus named,
 * typed sections; the format is in docs/checkpoint.md.  Writing is atomic: a kill at
 * any moment leaves either the previous checkpoint or the new one, never a mix.
 * Loading verifies magic, version, size, CRC32, the model, then every section asked
 * for, before it copies anything into the caller's buffers. */

typedef enum {
    RT_DT_U8 = 1, RT_DT_I32 = 2, RT_DT_U32 = 3, RT_DT_I64 = 4,
    RT_DT_U64 = 5, RT_DT_F32 = 6, RT_DT_F64 = 7,
} rt_dtype;

#define RT_CKPT_MAX_DIMS 8
#define RT_CKPT_MAX_NAME 255

size_t rt_dtype_size(rt_dtype t);        /* 0 for an unknown type */
const char *rt_dtype_name(rt_dtype t);   /* "float32", ... */

typedef struct {
    char name[RT_CKPT_MAX_NAME + 1];
    rt_dtype dtype;
    int ndim;
    uint64_t dims[RT_CKPT_MAX_DIMS];
    uint64_t count;        /* product of dims: number of elements */
    uint64_t offset;       /* of the data in the file */
} rt_ckpt_section;

/* Collects sections, then writes them in one go.  The data pointers are kept, not
 * copied: they must stay valid until rt_ckpt_commit.  A failed add is remembered and
 * reported by commit, so callers may check only commit. */
typedef struct {
    char model[RT_CKPT_MAX_NAME + 1];
    uint64_t model_hash;
    rt_ckpt_section *sec;     /* private */
    const void **data;        /* private */
    size_t nsec, cap;         /* private */
    char err[256];            /* private: first add error */
} rt_ckpt_writer;

void rt_ckpt_writer_init(rt_ckpt_writer *w, const char *model_name, uint64_t model_hash);
/* Adds a section of dtype elements with shape dims[0..ndim) (ndim 0: one element). */
int rt_ckpt_add(rt_ckpt_writer *w, const char *name, rt_dtype dtype, const void *data,
                int ndim, const uint64_t *dims);
/* One-dimensional shorthands. */
int rt_ckpt_add_f32(rt_ckpt_writer *w, const char *name, const float *data, size_t count);
int rt_ckpt_add_bytes(rt_ckpt_writer *w, const char *name, const void *data, size_t nbytes);
/* Writes PATH.tmp.PID, fsyncs it, renames it over PATH and fsyncs the directory. */
int rt_ckpt_commit(rt_ckpt_writer *w, const char *path, char *err, size_t errlen);
void rt_ckpt_writer_free(rt_ckpt_writer *w);

/* An opened checkpoint whose size, checksum and section table have been verified. */
typedef struct {
    char path[1024];
    FILE *f;
    char model[RT_CKPT_MAX_NAME + 1];
    uint64_t model_hash;
    uint32_t version;
    rt_ckpt_section *sec;
    size_t nsec;
} rt_ckpt;

int rt_ckpt_open(rt_ckpt *ck, const char *path, char *err, size_t errlen);
/* The same for a checkpoint's bytes in memory (kept, not copied, until rt_ckpt_close);
 * name stands for the path in messages. */
int rt_ckpt_open_mem(rt_ckpt *ck, const char *name, const void *data, size_t size, char *err,
                     size_t errlen);
/* Fails with "checkpoint X was written by model Y (hash ...), not this model Z (...)". */
int rt_ckpt_check_model(const rt_ckpt *ck, const char *model_name, uint64_t model_hash,
                        char *err, size_t errlen);
const rt_ckpt_section *rt_ckpt_find(const rt_ckpt *ck, const char *name);
/* Copies section `name` into dst, which holds `count` elements of dtype. */
int rt_ckpt_get(rt_ckpt *ck, const char *name, rt_dtype dtype, void *dst, size_t count,
                char *err, size_t errlen);
void rt_ckpt_close(rt_ckpt *ck);

/* One buffer to fill by rt_ckpt_read. */
typedef struct {
    const char *name;
    rt_dtype dtype;
    void *data;
    size_t count;          /* elements of dtype */
    int optional;          /* absent is not an error */
    int found;             /* out: 1 if it was loaded */
} rt_ckpt_slot;

/* Opens PATH, checks the model, checks that every non-optional slot is present with
 * the right type and size, and only then fills the slots.  Sections the caller does not
 * ask for are ignored. */
int rt_ckpt_read(const char *path, const char *model_name, uint64_t model_hash,
                 rt_ckpt_slot *slots, size_t nslots, char *err, size_t errlen);

/* ---- NumPy .npz (npz.c) ----
 * An .npz is a zip of NAME.npy files.  netc writes .npy format 1.0, dtype '<f4', C
 * order, stored uncompressed (as numpy.savez); it reads '<f4' C-order arrays of format
 * 1.0, 2.0 or 3.0, stored or deflated (numpy.savez_compressed). */

#define RT_NPY_MAX_DIMS 8

typedef struct {
    const char *name;      /* stored as NAME.npy */
    const float *data;
    int ndim;              /* 0..RT_NPY_MAX_DIMS; 0 is a scalar */
    size_t shape[RT_NPY_MAX_DIMS];
} rt_npz_array;

/* Writes the arrays to PATH (replacing it once complete). */
int rt_npz_write(const char *path, const rt_npz_array *arrays, size_t n, char *err,
                 size_t errlen);

typedef struct {
    char path[1024];
    void *zip;             /* private: zip_t * */
} rt_npz;

int rt_npz_open(rt_npz *z, const char *path, char *err, size_t errlen);
/* The same on an archive's bytes in memory (kept, not copied, until rt_npz_close). */
int rt_npz_open_mem(rt_npz *z, const char *name, const void *data, size_t size, char *err,
                    size_t errlen);
/* Shape of array NAME (the member NAME.npy, or NAME itself). */
int rt_npz_shape(rt_npz *z, const char *name, int *ndim, size_t shape[RT_NPY_MAX_DIMS],
                 char *err, size_t errlen);
/* Reads array NAME into dst after checking it is float32, C order, of shape
 * shape[0..ndim). */
int rt_npz_read_f32(rt_npz *z, const char *name, float *dst, int ndim, const size_t *shape,
                    char *err, size_t errlen);
void rt_npz_close(rt_npz *z);

/* ---- progress bar (progress.c) ----
 *   epoch 3/10 [=========>          ] 120/469 loss 0.2345 5234 img/s ETA 0:12
 * Drawn with \r at most ~10 times a second, and only when the stream is a terminal: on a
 * pipe or file nothing is printed during the epoch. */

typedef struct {
    FILE *out;
    int tty;               /* draw at all?  Set from isatty() by begin */
    char label[64];
    size_t total;          /* steps in the epoch */
    double t_start, t_last;   /* seconds, monotonic */
    int drawn;             /* something is on the line */
} rt_progress;

/* Formats one bar line (no \r, no newline) into buf; returns its length.  bar_width is
 * the number of cells between the brackets; eta_s < 0 prints "ETA --:--". */
size_t rt_progress_format(char *buf, size_t len, const char *label, int bar_width,
                          size_t step, size_t total, double loss, double images_per_s,
                          double eta_s);
double rt_clock_seconds(void);    /* monotonic clock */
void rt_progress_begin(rt_progress *p, FILE *out, const char *label, size_t total_steps);
/* After step `step` of total (1-based), images seen so far this epoch, running loss. */
void rt_progress_update(rt_progress *p, size_t step, size_t images, double loss);
/* The same at a given time `now` (rt_clock_seconds()); for tests. */
void rt_progress_update_at(rt_progress *p, size_t step, size_t images, double loss,
                           double now);
/* Erases the bar so the caller's epoch summary starts on a clean line. */
void rt_progress_end(rt_progress *p);

/* ---- images for predict (image_read.c) ----
 * An 8-bit image as bytes [C][H][W]. */
typedef struct {
    int C, H, W;
    uint8_t *pixels;
    int32_t label;            /* the true label when known (an IDX item with labels), else -1 */
} rt_image;

/* Reads a PGM (P2/P5), a PNG (gray or RGB; via libpng) or, for "PATH:INDEX", item INDEX
 * of an IDX images file (and its label, if the matching labels file is beside it). */
int rt_image_read(const char *spec, rt_image *img, char *err, size_t errlen);
/* A PGM or PNG file's bytes in memory; name stands for the path in messages. */
int rt_image_read_mem(const char *name, const void *data, size_t size, rt_image *img,
                      char *err, size_t errlen);
void rt_image_free(rt_image *img);

#endif
