/* main.c — the `iamp` command: dispatch to a command, map its result to
 * an exit status. The only place that exits. */
#include "coordinator/cli.h"

#include <stdio.h>
#include <string.h>

static const char main_help[] =
    "usage: iamp COMMAND [options]    (iamp COMMAND --help for each)\n"
    "\n"
    "iamp runs Iterated Amplification: an overseer H decomposes questions, a\n"
    "learned model M answers the pieces, and M is distilled toward Amp(H, M).\n"
    "\n"
    "commands:\n"
    "  train    run IA rounds: amplify, distil, evaluate\n"
    "  answer   answer questions (JSONL) with a checkpoint, amplified to --depth\n"
    "  eval     held-out accuracy of a checkpoint\n"
    "  bench    train | amplify | serve throughput and latency\n"
    "  serve    take answer, train and eval jobs over TCP (the job server)\n"
    "  submit   submit a job to a server (--wait: and print its result)\n"
    "  status   a job's state and progress\n"
    "  watch    follow a job until it ends\n"
    "  result   a finished job's result (answers as JSONL)\n"
    "  cancel   end an unfinished job\n"
    "  jobs     list a server's jobs\n"
    "  info     a server's version, model and limits\n"
    "  version  print the version\n";

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
};

static const struct command commands[] = {
    {"train", iamp_cmd_train},   {"answer", iamp_cmd_answer}, {"eval", iamp_cmd_eval},
    {"bench", iamp_cmd_bench},   {"serve", iamp_cmd_serve},   {"submit", iamp_cmd_submit},
    {"status", iamp_cmd_status}, {"watch", iamp_cmd_watch},   {"result", iamp_cmd_result},
    {"cancel", iamp_cmd_cancel}, {"jobs", iamp_cmd_jobs},     {"info", iamp_cmd_info},
};

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(main_help, stderr);
        return IAMP_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(main_help, stdout);
        return IAMP_EXIT_OK;
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("iamp %s\n", IAMP_VERSION);
        return IAMP_EXIT_OK;
    }
    iamp_blas_threads_default();
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(cmd, commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    iamp_cli_error("unknown command '%s' (see 'iamp --help')", cmd);
    return IAMP_EXIT_USAGE;
}
