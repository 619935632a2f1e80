/* main.c — the netc command line.  main() reads as the pipeline:
 *   read source -> parse -> elaborate (graph, shapes, settings) -> report.
 * Exit status: 0 clean (warnings allowed), 1 diagnostics, 2 usage or I/O error. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include "netc.h"

#define MAX_DEFINES 64

typedef struct {
    const char *command;
    const char *file;
    const char *output;
    Define defs[MAX_DEFINES];
    int ndefs;
} Options;

typedef struct {
    const char *name;
    const char *summary;
    void (*report)(FILE *out, const Graph *g);
} Command;

static void report_nothing(FILE *out, const Graph *g)
{
    (void)out;
    (void)g;
}

static const Command commands[] = {
    { "check", "parse and check a model; print diagnostics only", report_nothing },
    { "summary", "print a table of layers, shapes and parameter counts", print_summary },
    { "dot", "print the graph in Graphviz format", print_dot },
};
#define NCOMMANDS ((int)(sizeof commands / sizeof commands[0]))

static void usage(FILE *out)
{
    fprintf(out, "usage: netc COMMAND [options] FILE.net\n\ncommands:\n");
    for (int i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nRun 'netc COMMAND --help' for a command's options.\n");
}

static void command_help(const Command *c)
{
    printf("usage: netc %s [options] FILE.net\n\n%s.\n\noptions:\n", c->name, c->summary);
    printf("  -D, --define NAME=VALUE  override a model parameter (repeatable)\n");
    printf("  -o, --output FILE        write to FILE instead of standard output\n");
    printf("  -h, --help               show this help\n");
    printf("\nExit status: 0 clean (warnings allowed), 1 diagnostics, 2 usage or I/O error.\n");
    if (strcmp(c->name, "check") == 0) {
        printf("\ntrain section settings:\n");
        print_train_schema(stdout);
    }
}

static const Command *find_command(const char *name)
{
    for (int i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

/* Parses options after the command name; returns -1 to go on, else an exit status. */
static int parse_options(int argc, char **argv, const Command *cmd, Options *o)
{
    static const struct option longopts[] = {
        { "define", required_argument, NULL, 'D' },
        { "output", required_argument, NULL, 'o' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "D:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'D': {
            char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg || !eq[1]) {
                fprintf(stderr, "netc: -D expects NAME=VALUE, got '%s'\n", optarg);
                return 2;
            }
            if (o->ndefs == MAX_DEFINES) {
                fprintf(stderr, "netc: too many -D options (at most %d)\n", MAX_DEFINES);
                return 2;
            }
            *eq = 0;
            o->defs[o->ndefs++] = (Define){ optarg, eq + 1 };
            break;
        }
        case 'o':
            o->output = optarg;
            break;
        case 'h':
            command_help(cmd);
            return 0;
        default:
            fprintf(stderr, "Try 'netc %s --help'.\n", cmd->name);
            return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "netc %s: expected one FILE.net, got %d\nTry 'netc %s --help'.\n", cmd->name, argc - optind,
                cmd->name);
        return 2;
    }
    o->file = argv[optind];
    return -1;
}

static int run(const Command *cmd, const Options *o)
{
    char err[512];
    SrcFile *src = src_read(o->file, err, sizeof err);
    if (!src) {
        fprintf(stderr, "netc: %s\n", err);
        return 2;
    }
    Program prog = { 0 };
    Graph g = { 0 };
    int rc = parse_program(src, &prog);
    if (rc == 0)
        rc = elaborate(&prog, o->defs, o->ndefs, &g);
    if (rc == 0) {
        FILE *out = o->output ? fopen(o->output, "w") : stdout;
        if (!out) {
            perror(o->output);
            rc = 2;
        } else {
            cmd->report(out, &g);
            if ((o->output ? fclose(out) : fflush(out)) != 0) {
                fprintf(stderr, "netc: cannot write %s\n", o->output ? o->output : "standard output");
                rc = 2;
            }
        }
    }
    graph_free(&g);
    free_tree(prog.model);
    free_tree(prog.blocks);
    src_free(src);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const Command *cmd = find_command(argv[1]);
    if (!cmd) {
        fprintf(stderr, "netc: unknown command '%s'\n", argv[1]);
        usage(stderr);
        return 2;
    }
    Options o = { .command = cmd->name };
    int rc = parse_options(argc - 1, argv + 1, cmd, &o);
    if (rc >= 0)
        return rc;
    return run(cmd, &o);
}
