/* test_ops.c — every entry of the op table is complete, so an op cannot be half-added.
 *
 * For each op of ops.def: a name that op_lookup finds (the graph's input excepted,
 * which is never called), an entry of its own (two ops sharing one would share every
 * rule: a copied ops.def line), an argument schema that the binder can use, an input
 * count in range and a shape rule.  Then by kind: a folded op (the graph's input,
 * softmax in the loss) has no step, so no emitters, buffers or parameters; a view
 * (flatten) has no code; every other op has a forward and a backward emitter, an
 * initialiser when it creates parameters, and an export emitter (netc export-c) unless
 * it is a view at inference (dropout); an op that takes a fused relu has an export; an
 * op with a regulariser's penalty has parameters; every op but the folded ones has an
 * ONNX writer (netc export-onnx), and a folded one none.  Where the entries live is checked by
 * tests/t_ops_table.sh.  Exits non-zero on any failure. */
#include <string.h>
#include "check.h"
#include "netc.h"

static void check_schema(const char *op, const ArgSpec *args)
{
    int n = 0;
    while (args[n].name)
        n++;
    CHECK(n <= MAX_ARGS, "%s: %d arguments, at most %d", op, n, MAX_ARGS);
    for (int i = 0; i < n && i < MAX_ARGS; i++) {
        CHECK(strcmp(args[i].name, "name") != 0, "%s: 'name' is the layer's name, not an argument", op);
        for (int j = 0; j < i; j++)
            CHECK(strcmp(args[i].name, args[j].name) != 0, "%s: argument '%s' twice", op, args[i].name);
        bool found = !args[i].same_as;
        for (int j = 0; j < n && !found; j++)
            found = j != i && strcmp(args[j].name, args[i].same_as) == 0;
        CHECK(found, "%s: '%s' copies '%s', which is not an argument", op, args[i].name, args[i].same_as);
        CHECK(!args[i].keyword_only || !args[i].required, "%s: '%s' is required, so it cannot be keyword only", op,
              args[i].name);
        CHECK(args[i].keyword_only || i == 0 || !args[i - 1].keyword_only,
              "%s: '%s' follows a keyword-only argument, so it could not be given positionally", op, args[i].name);
    }
}

static void check_steps(const char *op, const OpRules *r)
{
    unsigned f = r->flags;
    bool has_code = r->decl || r->init || r->forward || r->backward || r->penalty || r->export || r->export_work;
    if (f & OPF_FOLDED) {
        CHECK(!has_code && !r->aux && !r->work && !r->params && !r->saves && !(f & ~OPF_FOLDED),
              "%s: a folded op has no step, so no emitters, buffers, parameters or other flags", op);
        CHECK((f & OPF_FOLDED) != OPF_FOLDED, "%s: both the graph's input and folded into the loss", op);
    } else if (f & OPF_VIEW) {
        CHECK(!has_code && !r->aux && !r->work && !r->params, "%s: a view has no code, buffers or parameters", op);
    } else {
        CHECK(r->forward && r->backward, "%s: a forward and a backward emitter", op);
        CHECK(!r->params || r->init, "%s: creates parameters, so it needs an initialiser", op);
        CHECK(r->export || (f & OPF_VIEW_INFER), "%s: an export emitter, or a view at inference", op);
        CHECK(!(f & OPF_VIEW_INFER) || !r->export, "%s: a view at inference has nothing to export", op);
    }
    CHECK(!(f & OPF_TAKES_RELU) || r->export, "%s: takes a fused relu, so it has an export emitter", op);
    CHECK(!r->penalty || r->params, "%s: a regulariser's penalty needs parameters to act on", op);
    CHECK(!r->onnx == !!(f & OPF_FOLDED), "%s: an ONNX writer exactly when it is not folded", op);
}

int main(void)
{
    for (int i = 0; i < OP_COUNT; i++) {
        const OpInfo *op = &op_table[i];
        const OpRules *r = op->rules;
        CHECK(op->name && r, "op %d: a name and an entry", i);
        if (!op->name || !r)
            continue;
        bool called = !(r->flags & OPF_GRAPH_INPUT);
        CHECK(op_lookup(op->name) == (called ? op : NULL), "%s: op_lookup finds it exactly when it is callable",
              op->name);
        for (int j = 0; j < i; j++)
            CHECK(op_table[j].rules != r, "%s shares its entry with %s", op->name, op_table[j].name);
        CHECK(r->args && r->shape, "%s: an argument schema and a shape rule", op->name);
        CHECK(r->min_in >= 0 && r->min_in <= MAX_INPUTS && (r->max_in == -1 || (r->max_in >= r->min_in &&
              r->max_in <= MAX_INPUTS)), "%s: inputs %d to %d", op->name, r->min_in, r->max_in);
        CHECK(called == (r->min_in > 0), "%s: every op but the graph's input takes a tensor", op->name);
        if (r->args)
            check_schema(op->name, r->args);
        check_steps(op->name, r);
    }
    printf("test_ops: %d ops, %d checks, %d failed\n", OP_COUNT, checks, failures);
    return failures != 0;
}
