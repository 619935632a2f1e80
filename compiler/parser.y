/* parser.y — the .net grammar (pure, reentrant Bison parser with locations).
 * Each action is one AST constructor call (ast.c).  `error` rules at statements,
 * settings, call arguments and top-level definitions let one run report several
 * syntax errors; the error count then stops later passes.  Tokens have readable
 * aliases so Bison's detailed messages read "unexpected integer, expecting ')'". */
%code requires {
#include "netc.h"
typedef void *yyscan_t;
typedef struct {
    const SrcFile *src;
    int off, line, col;
} LexState;
}

%code {
#include "lexer.yy.h"

static void yyerror(Loc *loc, yyscan_t scanner, Program *prog, const char *msg);

#define YYLLOC_DEFAULT(Cur, Rhs, N)                         \
    do {                                                    \
        if (N) {                                            \
            (Cur) = YYRHSLOC(Rhs, 1);                       \
            (Cur).end = YYRHSLOC(Rhs, N).end;               \
        } else {                                            \
            (Cur) = YYRHSLOC(Rhs, 0);                       \
            (Cur).off = (Cur).end;                          \
        }                                                   \
    } while (0)
/* Deep nesting ends as a clean error, not a deep C stack in later passes. */
#define YYMAXDEPTH 2000
}

%define api.pure full
%define api.location.type {Loc}
%define parse.error detailed
%locations
%param {yyscan_t scanner}
%parse-param {Program *prog}
%expect 0

%union {
    char *str;
    Node *node;
}

%token <str> IDENT "identifier" INTEGER "integer" FLOAT "number" STRING "string"
%token MODEL "model" BLOCK "block" INPUT "input" RETURN "return" FOR "for" IN "in"
%token IF "if" ELSE "else" TRAIN "train" TRUE "true" FALSE "false"
%token ARROW "->" DOTDOT ".." EQ "==" NE "!=" LE "<=" GE ">=" AND "&&" OR "||"

%type <node> definition params param_list param stmts stmt if_stmt settings setting
%type <node> expr call args arg_list arg expr_list list

%destructor { free($$); } <str>
%destructor { free_tree($$); } <node>

%precedence ARROW
%left OR
%left AND
%nonassoc EQ NE '<' LE '>' GE
%left '+' '-'
%left '*' '/' '%'
%precedence UNARY

%%

program
    : %empty
    | program definition        { program_add(prog, $2); }
    | program error             { }
    ;

/* model NAME(params) { stmts }  |  block NAME(params) { stmts } */
definition
    : MODEL IDENT '{' stmts '}'                 { $$ = new_definition(N_MODEL, @2, $2, NULL, $4); }
    | MODEL IDENT '(' params ')' '{' stmts '}'  { $$ = new_definition(N_MODEL, @2, $2, $4, $7); }
    | BLOCK IDENT '(' params ')' '{' stmts '}'  { $$ = new_definition(N_BLOCK, @2, $2, $4, $7); }
    ;

params
    : %empty                    { $$ = NULL; }
    | param_list                { $$ = $1; }
    | param_list ','            { $$ = $1; }
    ;

param_list
    : param                     { $$ = $1; }
    | param_list ',' param      { $$ = append($1, $3); }
    ;

/* NAME  |  NAME = default */
param
    : IDENT                     { $$ = new_name(N_PARAM, @1, $1); }
    | IDENT '=' expr            { $$ = new_name(N_PARAM, @1, $1); $$->lhs = $3; }
    ;

stmts
    : %empty                    { $$ = NULL; }
    | stmts stmt                { $$ = append($1, $2); }
    ;

stmt
    : INPUT IDENT '[' expr_list ']'                 { $$ = new_name(N_INPUT, @2, $2); $$->list = $4; }
    | IDENT '=' expr                                { $$ = new_assign(@1, $1, $3); }
    | FOR IDENT IN expr DOTDOT expr '{' stmts '}'   { $$ = new_for(@2, $2, $4, $6, $8); }
    | if_stmt                                       { $$ = $1; }
    | RETURN expr                                   { $$ = new_node(N_RETURN, @1); $$->lhs = $2; }
    | TRAIN '{' settings '}'                        { $$ = new_node(N_TRAIN, @1); $$->body = $3; }
    | ';'                                           { $$ = NULL; }
    | error                                         { $$ = NULL; }
    ;

if_stmt
    : IF expr '{' stmts '}'                         { $$ = new_if(@1, $2, $4, NULL); }
    | IF expr '{' stmts '}' ELSE '{' stmts '}'      { $$ = new_if(@1, $2, $4, $8); }
    | IF expr '{' stmts '}' ELSE if_stmt            { $$ = new_if(@1, $2, $4, $7); }
    ;

settings
    : %empty                    { $$ = NULL; }
    | settings setting          { $$ = append($1, $2); }
    ;

/* key = value  |  key = [values]  |  group { settings } */
setting
    : IDENT '=' expr            { $$ = new_name(N_SETTING, @1, $1); $$->lhs = $3; }
    | IDENT '=' list            { $$ = new_name(N_SETTING, @1, $1); $$->lhs = $3; }
    | IDENT '{' settings '}'    { $$ = new_name(N_GROUP, @1, $1); $$->body = $3; }
    | ';'                       { $$ = NULL; }
    | error                     { $$ = NULL; }
    ;

expr
    : expr ARROW call           { $$ = new_chain(@2, $1, $3); }
    | expr OR expr              { $$ = new_binop(O_OR, @2, $1, $3); }
    | expr AND expr             { $$ = new_binop(O_AND, @2, $1, $3); }
    | expr EQ expr              { $$ = new_binop(O_EQ, @2, $1, $3); }
    | expr NE expr              { $$ = new_binop(O_NE, @2, $1, $3); }
    | expr '<' expr             { $$ = new_binop(O_LT, @2, $1, $3); }
    | expr LE expr              { $$ = new_binop(O_LE, @2, $1, $3); }
    | expr '>' expr             { $$ = new_binop(O_GT, @2, $1, $3); }
    | expr GE expr              { $$ = new_binop(O_GE, @2, $1, $3); }
    | expr '+' expr             { $$ = new_binop(O_ADD, @2, $1, $3); }
    | expr '-' expr             { $$ = new_binop(O_SUB, @2, $1, $3); }
    | expr '*' expr             { $$ = new_binop(O_MUL, @2, $1, $3); }
    | expr '/' expr             { $$ = new_binop(O_DIV, @2, $1, $3); }
    | expr '%' expr             { $$ = new_binop(O_MOD, @2, $1, $3); }
    | '-' expr %prec UNARY      { $$ = new_unop(O_NEG, @1, $2); }
    | '!' expr %prec UNARY      { $$ = new_unop(O_NOT, @1, $2); }
    | '(' expr ')'              { $$ = $2; }
    | call                      { $$ = $1; }
    | IDENT                     { $$ = new_name(N_NAME, @1, $1); }
    | INTEGER                   { $$ = new_int(@1, $1); free($1); }
    | FLOAT                     { $$ = new_float(@1, $1); free($1); }
    | STRING                    { $$ = new_string(@1, $1); free($1); }
    | TRUE                      { $$ = new_bool(@1, true); }
    | FALSE                     { $$ = new_bool(@1, false); }
    ;

/* [a, b, c]: a list, only as a setting's value (mean = [0.49, 0.48, 0.45]) */
list
    : '[' expr_list ']'         { $$ = new_list(@$, $2); }
    ;

/* NAME(args) */
call
    : IDENT '(' args ')'        { $$ = new_call(@1, $1, $3); }
    | IDENT '(' error ')'       { $$ = new_call(@1, $1, NULL); }
    ;

args
    : %empty                    { $$ = NULL; }
    | arg_list                  { $$ = $1; }
    | arg_list ','              { $$ = $1; }
    ;

arg_list
    : arg                       { $$ = $1; }
    | arg_list ',' arg          { $$ = append($1, $3); }
    ;

/* value  |  keyword = value */
arg
    : expr                      { $$ = $1; }
    | IDENT '=' expr            { $$ = new_name(N_KWARG, @1, $1); $$->lhs = $3; }
    ;

expr_list
    : expr                      { $$ = $1; }
    | expr_list ',' expr        { $$ = append($1, $3); }
    ;

%%

static void yyerror(Loc *loc, yyscan_t scanner, Program *prog, const char *msg)
{
    (void)scanner;
    (void)prog;
    if (strcmp(msg, "memory exhausted") == 0)
        msg = "nesting too deep (more than 2000 open constructs)";
    error_at(*loc, "%s", msg);
}
