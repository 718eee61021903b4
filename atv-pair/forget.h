/* forget.h - atv-pair --forget: remove pairings from the credentials file. */
#ifndef ATV_PAIR_FORGET_H
#define ATV_PAIR_FORGET_H

#include "tool.h"

/* Remove the entries of the credentials file (tool->creds, loaded) for
 * protocol (NULL: every protocol) of the devices named by -i ID (an
 * identifier, any case), -n NAME (the entry's name, exact, else any case)
 * or the configs on standard input (any of their all_identifiers): no
 * device is contacted.  Each removal is atomic under the file's lock.  One
 * line per entry removed on stdout; the exit status (1 when there was
 * nothing to remove). */
int atv_pair_forget(struct atv_cli_tool *tool, const char *protocol);

#endif
