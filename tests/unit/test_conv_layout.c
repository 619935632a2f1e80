/* test_conv_layout.c -- the arena room the planner gives each convolution's workspace is
 * what the runtime's kernel uses.
 *
 * For every conv2d of every model in models/ and tests/gradcheck/, planned for training
 * and for inference at batch 100: the planner's workspace buffer must be the runtime's
 * rt_conv2d_workspace_floats, in bytes, rounded up to the arena alignment.  The runtime's
 * descriptor is built here from the graph (input shape, output shape, the layer's
 * arguments), not by the code generator, so a slip in either side's glue shows. */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "netc.h"
#include "netc_rt.h"

static rt_conv_desc desc_of(const Graph *g, const GNode *n)
{
    const Shape *in = &g->node[n->in[0]].out;
    int pad[4];
    conv_padding(n, in, pad);
    int k = (int)attr_int(n, "kernel");
    return (rt_conv_desc){ .C = (int)in->d[0], .H = (int)in->d[1], .W = (int)in->d[2], .K = (int)n->out.d[0],
                           .kh = k, .kw = k, .stride = (int)attr_int(n, "stride"), .pad_t = pad[0],
                           .pad_l = pad[1], .pad_b = pad[2], .pad_r = pad[3], .OH = (int)n->out.d[1],
                           .OW = (int)n->out.d[2] };
}

/* Checks every workspace buffer of plan p; returns how many belonged to convolutions. */
static int check_plan(const Plan *p, const char *path)
{
    int convs = 0;
    for (int b = 0; b < p->nbuf; b++) {
        const Buffer *buf = &p->buf[b];
        const GNode *n = &p->g->node[buf->node];
        if (buf->kind != B_WORK || strcmp(op_table[n->op].name, "conv2d") != 0)
            continue;
        rt_conv_desc d = desc_of(p->g, n);
        size_t want = rt_conv2d_workspace_floats(&d) * sizeof(float);
        size_t rounded = (want + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
        CHECK(buf->bytes == rounded, "%s %s (%s): the planner gives %zu bytes, the kernel uses %zu", path,
              n->name, p->mode == MODE_TRAIN ? "train" : "infer", buf->bytes, want);
        convs++;
    }
    return convs;
}

static int check_file(const char *path)
{
    char err[256];
    SrcFile *src = src_read(path, err, sizeof err);
    Program prog = { 0 };
    Graph g = { 0 };
    int convs = 0;
    if (!src || parse_program(src, &prog) || elaborate(&prog, NULL, 0, &g)) {
        CHECK(0, "%s does not elaborate", path);
        return 0;
    }
    for (int mode = 0; mode < 2; mode++) {
        Plan *p = plan_build(&g, mode ? MODE_INFER : MODE_TRAIN, 100);
        convs += check_plan(p, path);
        plan_free(p);
    }
    graph_free(&g);
    free_tree(prog.model);
    free_tree(prog.blocks);
    src_free(src);
    return convs;
}

int main(void)
{
    const char *patterns[] = { "models/*.net", "tests/gradcheck/*.net" };
    int convs = 0, files = 0;
    for (int i = 0; i < 2; i++) {
        glob_t gl;
        CHECK(glob(patterns[i], 0, NULL, &gl) == 0, "no %s (run from the repository root)", patterns[i]);
        for (size_t f = 0; f < gl.gl_pathc; f++, files++)
            convs += check_file(gl.gl_pathv[f]);
        globfree(&gl);
    }
    CHECK(convs > 100, "only %d convolution workspaces found", convs);
    printf("%d convolution workspaces in %d files (train and infer): planner == kernel; %d checks, %d failed\n",
           convs, files, checks, failures);
    return failures != 0;
}
