/* ast.c — constructors for the syntax tree.  Each Bison action is one call here;
 * no logic lives in the grammar.  Literals are converted with range checks: a number
 * that does not fit becomes an error at its location, never a silent wrap. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "netc.h"

Node *new_node(NodeKind kind, Loc loc)
{
    Node *n = xcalloc(1, sizeof *n);
    n->kind = kind;
    n->loc = loc;
    return n;
}

Node *new_name(NodeKind kind, Loc loc, char *name)
{
    Node *n = new_node(kind, loc);
    n->name = name;
    return n;
}

Node *new_binop(Operator op, Loc loc, Node *lhs, Node *rhs)
{
    Node *n = new_node(N_BINOP, loc);
    n->op = op;
    n->lhs = lhs;
    n->rhs = rhs;
    return n;
}

Node *new_unop(Operator op, Loc loc, Node *operand)
{
    Node *n = new_node(N_UNOP, loc);
    n->op = op;
    n->lhs = operand;
    return n;
}

Node *new_int(Loc loc, const char *text)
{
    Node *n = new_node(N_INT, loc);
    errno = 0;
    char *end;
    n->ival = strtoll(text, &end, 10);
    if (errno == ERANGE || *end)
        error_at(loc, "integer literal '%s' is too large", text);
    return n;
}

Node *new_float(Loc loc, const char *text)
{
    Node *n = new_node(N_FLOAT, loc);
    n->fval = strtod(text, NULL);
    if (!isfinite(n->fval))
        error_at(loc, "number '%s' is out of range", text);
    return n;
}

/* The lexer hands over the literal with its quotes; escapes were checked there. */
Node *new_string(Loc loc, const char *quoted)
{
    Node *n = new_node(N_STR, loc);
    size_t len = strlen(quoted);
    char *s = xcalloc(len + 1, 1), *d = s;
    for (size_t i = 1; i + 1 < len; i++) {
        char c = quoted[i];
        if (c == '\\' && i + 2 < len) {
            c = quoted[++i];
            c = c == 'n' ? '\n' : c == 't' ? '\t' : c;
        }
        *d++ = c;
    }
    n->sval = s;
    return n;
}

Node *new_bool(Loc loc, bool v)
{
    Node *n = new_node(N_BOOL, loc);
    n->ival = v;
    return n;
}

Node *new_call(Loc loc, char *callee, Node *args)
{
    Node *n = new_name(N_CALL, loc, callee);
    n->list = args;
    return n;
}

Node *new_chain(Loc loc, Node *input, Node *call)
{
    Node *n = new_node(N_CHAIN, loc);
    n->lhs = input;
    n->rhs = call;
    return n;
}

Node *new_list(Loc loc, Node *items)
{
    Node *n = new_node(N_LIST, loc);
    n->list = items;
    return n;
}

Node *new_assign(Loc loc, char *target, Node *value)
{
    Node *n = new_name(N_ASSIGN, loc, target);
    n->lhs = value;
    return n;
}

Node *new_for(Loc loc, char *var, Node *from, Node *to, Node *body)
{
    Node *n = new_name(N_FOR, loc, var);
    n->lhs = from;
    n->rhs = to;
    n->body = body;
    return n;
}

Node *new_if(Loc loc, Node *cond, Node *then, Node *orelse)
{
    Node *n = new_node(N_IF, loc);
    n->lhs = cond;
    n->body = then;
    n->orelse = orelse;
    return n;
}

Node *new_definition(NodeKind kind, Loc loc, char *name, Node *params, Node *body)
{
    Node *n = new_name(kind, loc, name);
    n->list = params;
    n->body = body;
    return n;
}

Node *append(Node *list, Node *item)
{
    if (!item)
        return list;
    if (!list)
        return item;
    Node *last = list;
    while (last->next)
        last = last->next;
    last->next = item;
    return list;
}

void program_add(Program *p, Node *def)
{
    if (!def)
        return;
    if (def->kind == N_BLOCK) {
        p->blocks = append(p->blocks, def);
        return;
    }
    if (p->model) {
        error_at(def->loc, "a file holds one model; '%s' is the second", def->name);
        note_at(p->model->loc, "the first model, '%s', is here", p->model->name);
        free_tree(def);
        return;
    }
    p->model = def;
}

/* Frees a tree with an explicit stack, not recursion: a long left-nested chain
 * (a + b + c + ..., x -> f() -> g() -> ...) is as deep as it is long. */
void free_tree(Node *n)
{
    if (!n)
        return;
    size_t cap = 64, top = 0;
    Node **stack = xcalloc(cap, sizeof *stack);
    stack[top++] = n;
    while (top) {
        n = stack[--top];
        Node *kids[] = { n->next, n->lhs, n->rhs, n->list, n->body, n->orelse };
        for (size_t i = 0; i < sizeof kids / sizeof kids[0]; i++) {
            if (!kids[i])
                continue;
            if (top == cap)
                stack = xrealloc(stack, (cap *= 2) * sizeof *stack);
            stack[top++] = kids[i];
        }
        free(n->name);
        free(n->sval);
        free(n);
    }
    free(stack);
}

const char *operator_text(Operator op)
{
    static const char *const text[] = {
        [O_ADD] = "+", [O_SUB] = "-", [O_MUL] = "*", [O_DIV] = "/", [O_MOD] = "%",
        [O_EQ] = "==", [O_NE] = "!=", [O_LT] = "<", [O_LE] = "<=", [O_GT] = ">",
        [O_GE] = ">=", [O_AND] = "&&", [O_OR] = "||", [O_NEG] = "-", [O_NOT] = "!",
    };
    return text[op];
}
