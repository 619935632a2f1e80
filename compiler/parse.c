/* parse.c — runs the Flex scanner and Bison parser over one source file, and checks
 * the limits of what it read that later stages could only fail on late: a model name
 * longer than a checkpoint holds (RT_CKPT_MAX_NAME) fails at the first checkpoint,
 * after an epoch of work. */
#include <string.h>
#include "netc.h"
#include "../runtime/io/rt_io.h"
#include "parser.tab.h"
#include "lexer.yy.h"

int parse_program(const SrcFile *src, Program *out)
{
    int before = error_count();
    LexState state = { .src = src, .off = 0, .line = 1, .col = 1 };
    yyscan_t scanner;
    if (yylex_init_extra(&state, &scanner) != 0) {
        fprintf(stderr, "netc: cannot start the scanner\n");
        return 2;
    }
    YY_BUFFER_STATE buf = yy_scan_bytes(src->text, (int)src->len, scanner);
    yyparse(scanner, out);
    yy_delete_buffer(buf, scanner);
    yylex_destroy(scanner);
    if (out->model && strlen(out->model->name) > RT_CKPT_MAX_NAME)
        error_at(out->model->loc, "the model name is %zu bytes long; a checkpoint holds at most %d",
                 strlen(out->model->name), RT_CKPT_MAX_NAME);
    if (!out->model && error_count() == before) {
        Loc end = { .file = src, .line = 1, .col = 1, .off = 0, .end = 0 };
        error_at(end, "no model in this file (expected 'model NAME { ... }')");
    }
    return error_count() > before;
}
