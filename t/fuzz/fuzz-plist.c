/* fuzz-plist - the /playback-info body parser (binary or XML plist, through
 * libplist): any bytes parse or are refused cleanly, and what parses is a
 * consistent state (a duration only while playing or paused, an error
 * description only on failure, every number finite). */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "airplay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct atv_airplay_playback pb;
	struct atv_err err;

	if (atv_airplay_parse_playback(data, size, &pb, &err) < 0) {
		if (!err.msg[0])
			abort(); /* a refusal always says why */
		return 0;
	}
	if (pb.state != ATV_AP_IDLE && pb.state != ATV_AP_LOADING &&
	    pb.state != ATV_AP_PLAYING && pb.state != ATV_AP_PAUSED && pb.state != ATV_AP_FAILED)
		abort();
	if (pb.has_duration != (pb.state == ATV_AP_PLAYING || pb.state == ATV_AP_PAUSED))
		abort();
	if (!isfinite(pb.duration) || !isfinite(pb.position) || !isfinite(pb.rate))
		abort();
	if (memchr(pb.error, '\0', sizeof pb.error) == NULL)
		abort();
	if (pb.state != ATV_AP_FAILED && pb.error[0])
		abort();
	return 0;
}
