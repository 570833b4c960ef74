/* commands.h: the subcommands and their shared error reporting. */
#ifndef CLI_COMMANDS_H
#define CLI_COMMANDS_H

#include "cli/args.h"
#include "cli/session.h"

int cmd_fit(int argc, char **argv);
int cmd_evaluate(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_summary(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_help(const char *command);

/* Prints "dltrain: <message>" to stderr; returns the error's exit code. */
int cli_report(const dl_err *err);
/* Prints a usage error for a command; returns 2. */
int cli_usage(const char *command, const char *what);

#endif
