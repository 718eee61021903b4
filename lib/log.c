/* log.c - logging hook. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "log.h"
#include "banned.h"

static atv_log_fn hook;
static enum atv_loglevel hook_level;
static void *hook_ctx;

void atv_log_set(atv_log_fn fn, enum atv_loglevel max_level, void *ctx)
{
	hook = fn;
	hook_level = max_level;
	hook_ctx = ctx;
}

void atv_log(enum atv_loglevel level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!hook || level > hook_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	hook(level, msg, hook_ctx);
}
