/* log.h - logging hook.  lib/ never prints: it calls the hook a tool sets
 * (atv-* -v installs one that writes to stderr).  Never log secrets. */
#ifndef ATV_LOG_H
#define ATV_LOG_H

enum atv_loglevel { ATV_LOG_ERROR, ATV_LOG_WARN, ATV_LOG_INFO, ATV_LOG_DEBUG };

typedef void (*atv_log_fn)(enum atv_loglevel level, const char *msg, void *ctx);

/* Install fn (NULL: discard) for messages at or below max_level. */
void atv_log_set(atv_log_fn fn, enum atv_loglevel max_level, void *ctx);

void atv_log(enum atv_loglevel level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define atv_debug(...) atv_log(ATV_LOG_DEBUG, __VA_ARGS__)
#define atv_info(...) atv_log(ATV_LOG_INFO, __VA_ARGS__)
#define atv_warn(...) atv_log(ATV_LOG_WARN, __VA_ARGS__)

#endif
