/* fuzz_netc.c — libFuzzer target: a .net source through the whole front end.
 *
 * The input is the text of a .net file.  It goes where `netc check`, `summary`, `dot`,
 * `plan` and `compile` take one: parse_program(), elaborate(), print_summary() and
 * print_dot(), then plan_build() in each mode (train, infer, export) with plan_verify()
 * on each plan and print_plan(), then generate_c() into a temporary directory made
 * once.  Diagnostics and reports go to /dev/null.  Besides what the sanitizers catch,
 * the target aborts (a crash for libFuzzer) when the status and the diagnostics
 * disagree (status 1 exactly when an error was printed) or a plan fails its check.
 * At the error cap, where netc exits 1, the diagnostics jump back here instead (what
 * that input had allocated is left behind).
 * Sources over 64 KiB are skipped: the language's limits (loops, nodes) make larger
 * graphs from small files anyway.  Seeds: tests/fuzz/corpus/netc/. */
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "netc.h"
#include "../../common/tmpdir.h"

static FILE *devnull;
static char outdir[512];   /* $TMPDIR/netc-fuzz-XXXXXX (else under /tmp) */
static jmp_buf at_cap;

static void stop_at_cap(void) { longjmp(at_cap, 1); }

/* The temporary directory goes when libFuzzer exits (after -max_total_time, or -runs). */
static void remove_outdir(void)
{
    char path[sizeof outdir + 16];
    static const char *const files[] = { "fuzz.h", "fuzz.c" };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", outdir, files[i]);
        unlink(path);
    }
    rmdir(outdir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    devnull = fopen("/dev/null", "w");
    if (!devnull || temp_template(outdir, sizeof outdir, "netc-fuzz") != 0 || !mkdtemp(outdir)) {
        perror("fuzz_netc");
        abort();
    }
    atexit(remove_outdir);
    diag_set_cap_stop(stop_at_cap);
    return 0;
}

static void check_plans(const Graph *g)
{
    static const Mode modes[] = { MODE_TRAIN, MODE_INFER, MODE_EXPORT };
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        Plan *p = plan_build(g, modes[m], 1 + (int)(m * 7));
        char err[512];
        if (!plan_verify(p, err, sizeof err)) {
            fprintf(stderr, "fuzz_netc: invalid plan: %s\n", err);
            abort();
        }
        print_plan(devnull, p);
        plan_free(p);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64 * 1024)
        return 0;
    diag_reset();
    diag_set_stream(devnull);
    if (setjmp(at_cap))
        return 0;   /* the error cap: netc check exits 1 here */
    SrcFile *src = xcalloc(1, sizeof *src);
    src->name = xstrdup("fuzz.net");
    src->text = xcalloc(size + 1, 1);   /* as src_read gives it: NUL bytes and all */
    memcpy(src->text, data, size);
    src->len = size;
    Program prog = { 0 };
    Graph g = { 0 };
    int rc = parse_program(src, &prog);
    if (rc == 0)
        rc = elaborate(&prog, NULL, 0, &g);
    if ((rc == 1) != (error_count() > 0)) {
        fprintf(stderr, "fuzz_netc: status %d with %d errors\n", rc, error_count());
        abort();
    }
    if (rc == 0) {
        print_summary(devnull, &g);
        print_dot(devnull, &g);
        check_plans(&g);
        if (generate_c(&g, outdir, "fuzz", 4) != 0) {
            fprintf(stderr, "fuzz_netc: generate_c failed on a checked graph\n");
            abort();
        }
    }
    graph_free(&g);
    free_tree(prog.model);
    free_tree(prog.blocks);
    src_free(src);
    return 0;
}
