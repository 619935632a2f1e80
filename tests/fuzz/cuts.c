/* cuts.c — the truncation sweep of tests/t_fuzz.sh, in process.
 *
 *     cuts [-t SECONDS] [-e N] [-o K] [-a] [-l] FILE...
 *
 * Cuts each FILE at every byte offset (0 to its length) and runs what `netc check`
 * and `netc summary` run on the cut -- parse_program(), elaborate(), print_summary()
 * and print_dot() -- in a forked child, so that one cut cannot disturb the next and a
 * cut that crashes, hangs or trips a sanitizer is caught and named.  Forking this
 * process is much cheaper than starting netc, which lets every cut of every file run,
 * under ASan/UBSan too (t_fuzz.sh builds this file twice, against build/libnetcc.a
 * and build-san/libnetcc.a).  Diagnostics go to /dev/null; the child's standard error
 * (sanitizer reports, internal errors) goes to a temporary file that must stay empty.
 *
 * A cut that ends two or more bytes into a comment gives the same tokens as the cut
 * just after its '#', so it is skipped unless -a is given.  -e N runs every Nth of
 * the remaining cuts, starting with the Kth (-o K); -l lists them ("FILE OFFSET")
 * instead of running them, for t_fuzz.sh to run through the netc binaries.
 *
 * A child must exit with 0, 1 or 2, with 1 exactly when it reported an error, within
 * SECONDS (default 5; SIGALRM ends it otherwise).  Prints one line per failing cut,
 * with the command that reproduces it, and a closing count; exits 1 if any failed. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "netc.h"
#include "../../common/tmpdir.h"

static FILE *devnull;

/* The child: the check pipeline on text[0, len). */
static int check_cut(const char *name, const char *text, size_t len)
{
    SrcFile *src = xcalloc(1, sizeof *src);
    src->name = xstrdup(name);
    src->text = xstrndup(text, len);
    src->len = len;
    Program prog = { 0 };
    Graph g = { 0 };
    int rc = parse_program(src, &prog);
    if (rc == 0)
        rc = elaborate(&prog, NULL, 0, &g);
    if (rc == 0) {
        print_summary(devnull, &g);
        print_dot(devnull, &g);
    }
    if ((rc == 1) != (error_count() > 0))
        rc = rc == 1 ? 10 : 11;   /* exit 1 without an error, or an error without exit 1 */
    graph_free(&g);
    free_tree(prog.model);
    free_tree(prog.blocks);
    src_free(src);
    return rc;
}

/* in_comment[p]: byte p is a comment's '#' or one of the bytes after it on its line,
 * found as the lexer finds them (a '#' inside a string starts no comment). */
static char *comment_map(const char *text, size_t len)
{
    char *in_comment = xcalloc(len + 1, 1);
    bool in_string = false, comment = false;
    for (size_t p = 0; p < len; p++) {
        char c = text[p];
        if (c == '\n') {
            in_string = comment = false;
        } else if (comment) {
            in_comment[p] = 1;
        } else if (in_string) {
            if (c == '\\' && p + 1 < len && text[p + 1] != '\n')
                p++;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '#') {
            comment = true;
            in_comment[p] = 1;
        }
    }
    return in_comment;
}

static char *read_file(const char *path, size_t *len)
{
    char err[512];
    SrcFile *s = src_read(path, err, sizeof err);
    if (!s) {
        fprintf(stderr, "cuts: %s\n", err);
        exit(2);
    }
    char *text = s->text;
    *len = s->len;
    s->text = NULL;
    src_free(s);
    return text;
}

int main(int argc, char **argv)
{
    int seconds = 5, every = 1, start = 0, opt;
    bool all = false, list = false;
    while ((opt = getopt(argc, argv, "t:e:o:al")) != -1) {
        switch (opt) {
        case 't': seconds = atoi(optarg); break;
        case 'e': every = atoi(optarg); break;
        case 'o': start = atoi(optarg); break;
        case 'a': all = true; break;
        case 'l': list = true; break;
        default: return 2;
        }
    }
    int first = optind;
    if (first >= argc || every < 1 || seconds < 1) {
        fprintf(stderr, "usage: cuts [-t SECONDS] [-e N] [-o K] [-a] [-l] FILE...\n");
        return 2;
    }
    start %= every;
    devnull = fopen("/dev/null", "w");
    char errpath[512];
    int errfd = temp_template(errpath, sizeof errpath, "netc-cuts") == 0 ? mkstemp(errpath) : -1;
    if (!devnull || errfd < 0) {
        perror("cuts");
        return 2;
    }
    unlink(errpath);
    long runs = 0, failed = 0, kept = 0;
    for (int a = first; a < argc; a++) {
        size_t len;
        char *text = read_file(argv[a], &len);
        char *in_comment = comment_map(text, len);
        for (size_t off = 0; off <= len; off++) {
            if (!all && off >= 2 && in_comment[off - 1] && in_comment[off - 2])
                continue;
            if (kept++ % every != start)
                continue;
            if (list) {
                printf("%s %zu\n", argv[a], off);
                continue;
            }
            if (ftruncate(errfd, 0) != 0 || lseek(errfd, 0, SEEK_SET) != 0) {
                perror("cuts");
                return 2;
            }
            fflush(stdout);
            pid_t pid = fork();
            if (pid < 0) {
                perror("fork");
                return 2;
            }
            if (pid == 0) {
                dup2(errfd, 2);
                diag_set_stream(devnull);
                alarm((unsigned)seconds);
                _exit(check_cut(argv[a], text, off));
            }
            int status;
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            runs++;
            char why[64] = "";
            if (WIFSIGNALED(status))
                snprintf(why, sizeof why, WTERMSIG(status) == SIGALRM ? "timed out (%ds)" : "killed by signal %d",
                         WTERMSIG(status) == SIGALRM ? seconds : WTERMSIG(status));
            else if (WEXITSTATUS(status) == 10)
                snprintf(why, sizeof why, "exit 1 without an error");
            else if (WEXITSTATUS(status) == 11)
                snprintf(why, sizeof why, "an error but exit %s", "0 or 2");
            else if (WEXITSTATUS(status) > 2)
                snprintf(why, sizeof why, "exit %d", WEXITSTATUS(status));
            else if (lseek(errfd, 0, SEEK_END) > 0)
                snprintf(why, sizeof why, "wrote to standard error");
            if (!why[0])
                continue;
            failed++;
            printf("FAIL: cut of %s at byte %zu: %s (reproduce: head -c %zu %s > cut.net; netc check cut.net)\n",
                   argv[a], off, why, off, argv[a]);
            char buf[2048];
            ssize_t n = pread(errfd, buf, sizeof buf - 1, 0);
            if (n > 0) {
                buf[n] = 0;
                printf("%s\n", buf);
            }
        }
        free(in_comment);
        free(text);
    }
    if (!list)
        printf("cuts: %ld cuts of %d files, %ld failed\n", runs, argc - first, failed);
    return failed != 0;
}
