/* stop.h - SIGINT and SIGTERM as "stop" for the tools that run until told
 * (atv-watch, atv-stream): the handler notes the signal and writes a byte
 * to a pipe that the tool's poll loop watches, so a wait ends at once and
 * the tool stops cleanly (closes its sessions, prints its last line). */
#ifndef ATV_CLI_STOP_H
#define ATV_CLI_STOP_H

#include "err.h"

/* Install the handlers (without SA_RESTART: a blocking call returns with
 * EINTR and the caller looks at the pipe).  0, or -ATV_E_IO. */
int atv_cli_stop_signals(struct atv_err *err);

/* The pipe's read end, readable once a signal came (-1 before
 * atv_cli_stop_signals). */
int atv_cli_stop_fd(void);

/* The signal that came (SIGINT or SIGTERM), 0 when none did. */
int atv_cli_stop_signal(void);

#endif
