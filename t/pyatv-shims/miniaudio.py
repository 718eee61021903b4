"""Local stand-in for miniaudio (not in Debian 12), enough for pyatv 0.18.

pyatv imports miniaudio for its audio sources.  This stand-in gives the
names pyatv uses and one real decoder: decode_file() reads 8/16/24/32-bit
PCM WAV files with Python's wave module, which is all pyatv's
stream_file=FILE needs (FileSource in pyatv/protocols/raop/audio_source.py).
Streams (stream_any, stream_file) and other formats raise DecodeError.
Kept in atv-tools' t/pyatv-shims/; t/README says where it is installed."""
import array
import enum
import sys
import wave


class SampleFormat(enum.IntEnum):
    UNKNOWN = 0
    UNSIGNED8 = 1
    SIGNED16 = 2
    SIGNED24 = 3
    SIGNED32 = 4
    FLOAT32 = 5


class SeekOrigin(enum.IntEnum):
    START = 0
    CURRENT = 1


class StreamableSource:
    pass


class DecodeError(Exception):
    pass


class DecodedSoundFile:
    """What decode_file returns: the whole file as interleaved samples."""

    def __init__(self, name, nchannels, sample_rate, sample_format, samples):
        self.name = name
        self.nchannels = nchannels
        self.sample_rate = sample_rate
        self.sample_format = sample_format
        self.sample_format_name = sample_format.name
        self.sample_width = _WIDTH[sample_format]
        self.samples = samples
        self.num_frames = len(samples) // nchannels
        self.duration = self.num_frames / sample_rate


_WIDTH = {SampleFormat.UNSIGNED8: 1, SampleFormat.SIGNED16: 2,
          SampleFormat.SIGNED24: 3, SampleFormat.SIGNED32: 4}


def _to_int16(raw, width):
    """PCM little-endian samples of width bytes as 16-bit integers."""
    if width == 2:
        out = array.array("h")
        out.frombytes(raw)
        if sys.byteorder == "big":
            out.byteswap()
        return out
    if width == 1:
        return array.array("h", ((b - 128) << 8 for b in raw))
    return array.array("h", (int.from_bytes(raw[i + width - 2:i + width], "little", signed=True)
                             for i in range(0, len(raw), width)))


def decode_file(filename, output_format=SampleFormat.SIGNED16, nchannels=0,
                sample_rate=0, dither=None):
    """Decode a PCM WAV file to 16-bit samples (no resampling, no mixing)."""
    try:
        with wave.open(filename, "rb") as w:
            ch, rate, width = w.getnchannels(), w.getframerate(), w.getsampwidth()
            raw = w.readframes(w.getnframes())
    except (wave.Error, EOFError) as ex:
        raise DecodeError(f"{filename}: not a PCM WAV file ({ex})") from ex
    if output_format != SampleFormat.SIGNED16:
        raise DecodeError("miniaudio stand-in: only 16-bit output")
    if (nchannels and nchannels != ch) or (sample_rate and sample_rate != rate):
        raise DecodeError(f"{filename}: {rate} Hz, {ch} channels; asked for "
                          f"{sample_rate} Hz, {nchannels} channels (no resampling here)")
    return DecodedSoundFile(filename, ch, rate, SampleFormat.SIGNED16, _to_int16(raw, width))


def _unavailable(*args, **kwargs):
    raise DecodeError("miniaudio stand-in: only decode_file of WAV files")


get_file_info = stream_file = stream_any = _unavailable


def __getattr__(name):
    # Other names appear only in annotations and code paths that stream.
    return type(name, (), {"__init__": _unavailable})
