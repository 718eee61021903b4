/* stop.c - SIGINT and SIGTERM as "stop" (stop.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "stop.h"
#include "banned.h"

static int stop_pipe[2] = {-1, -1};
static volatile sig_atomic_t stop_sig;

static void on_signal(int sig)
{
	int saved = errno;
	char c = (char)sig;

	stop_sig = sig;
	/* the loop sees the byte; a full pipe already says "stop" */
	if (write(stop_pipe[1], &c, 1) < 0)
		errno = saved;
	errno = saved;
}

int atv_cli_stop_signals(struct atv_err *err)
{
	struct sigaction sa;

	if (stop_pipe[0] < 0 && pipe2(stop_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return atv_err_sys(err, ATV_E_IO, errno, "pipe");
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* no SA_RESTART: a blocking wait returns at once and looks at the pipe */
	if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
		return atv_err_sys(err, ATV_E_IO, errno, "sigaction");
	return 0;
}

int atv_cli_stop_fd(void)
{
	return stop_pipe[0];
}

int atv_cli_stop_signal(void)
{
	return stop_sig;
}
