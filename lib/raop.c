/* raop.c - the audio session of raop.h.
 *
 * Skeleton: the API compiles and fails cleanly until the protocol lands
 * (commits after this one). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "raop.h"

#include "banned.h"

struct atv_raop {
	struct atv_raop_stats st;
};

int atv_raop_open(const struct atv_device *dev, const struct atv_raop_opts *o,
		  struct atv_raop **out, struct atv_err *err)
{
	(void)dev;
	(void)o;
	*out = NULL;
	return atv_err_set(err, ATV_E_UNSUPPORTED, "audio streaming is not implemented yet");
}

void atv_raop_format(const struct atv_raop *s, struct atv_raop_format *f)
{
	(void)s;
	f->rate = ATV_RAOP_SAMPLE_RATE;
	f->channels = ATV_RAOP_CHANNELS;
	f->bits = 16;
	f->big_endian = false;
}

static int dead(struct atv_err *err)
{
	return atv_err_set(err, ATV_E_USAGE, "no audio session");
}

int atv_raop_set_volume(struct atv_raop *s, double percent, struct atv_err *err)
{
	(void)s;
	(void)percent;
	return dead(err);
}

int atv_raop_set_metadata(struct atv_raop *s, const struct atv_raop_meta *m, struct atv_err *err)
{
	(void)s;
	(void)m;
	return dead(err);
}

int atv_raop_set_artwork(struct atv_raop *s, const char *mime, const void *p, size_t len,
			 struct atv_err *err)
{
	(void)s;
	(void)mime;
	(void)p;
	(void)len;
	return dead(err);
}

int atv_raop_set_progress(struct atv_raop *s, struct atv_err *err)
{
	(void)s;
	return dead(err);
}

int atv_raop_write(struct atv_raop *s, const int16_t *pcm, size_t frames, struct atv_err *err)
{
	(void)s;
	(void)pcm;
	(void)frames;
	return dead(err);
}

size_t atv_raop_writable(const struct atv_raop *s)
{
	(void)s;
	return 0;
}

int atv_raop_fd(const struct atv_raop *s)
{
	(void)s;
	return -1;
}

int atv_raop_timeout_ms(const struct atv_raop *s)
{
	(void)s;
	return -1;
}

int atv_raop_service(struct atv_raop *s, int timeout_ms, struct atv_err *err)
{
	(void)s;
	(void)timeout_ms;
	return dead(err);
}

int atv_raop_drain(struct atv_raop *s, struct atv_err *err)
{
	(void)s;
	return dead(err);
}

int atv_raop_stop(struct atv_raop *s, struct atv_err *err)
{
	(void)s;
	return dead(err);
}

void atv_raop_stats(const struct atv_raop *s, struct atv_raop_stats *st)
{
	memset(st, 0, sizeof *st);
	if (s)
		*st = s->st;
}

void atv_raop_close(struct atv_raop *s)
{
	free(s);
}
