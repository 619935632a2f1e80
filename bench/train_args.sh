# bench/train_args.sh -- sourced by bench/run_bench.sh and bench/profile_steps.sh: the
# options that make a run of a netc trainer the benchmark's epoch, the same work as the
# peers' (bench/torch_train.py, bench/keras_train.py), whatever the model's train section
# says: one epoch of the first IMAGES training images at batch BATCH, Adam lr 1e-3, no
# validation split (nor its MixUp'ed copy), augmentation, MixUp, label smoothing, schedule
# or early stopping, and an end-of-epoch evaluation of one test image.
#
#   bench_train_args IMAGES BATCH   sets the array BENCH_TRAIN_ARGS
bench_train_args() {
  BENCH_TRAIN_ARGS=(--epochs 1 --limit "$1" --test-limit 1 --batch "$2" --optimizer adam --lr 1e-3
    --valid-split 0 --schedule constant --early-stopping-patience 0 --augment-crop 0 --augment-rotate 0
    --augment-shift 0 --augment-erase 0 --no-augment-flip --augment-pad-crop 0 --augment-shift-fraction 0
    --mixup 0 --eval-mixup 0 --label-smoothing 0)
}
