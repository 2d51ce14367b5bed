#!/usr/bin/env bash
# Makes the tiny codec fixtures in fixtures/codecs/ that tests/decode.rs decodes.
#
# Every file holds a synthesised A4 (440 Hz) sine, so a test can check the decoded pitch, and
# carries the tags title="A4 Tone", artist="Leitmotif Fixtures", album="Codec Samples" where the
# container can hold tags. The tone comes from ffmpeg's `aevalsrc` (an exact formula, not a
# random source) and every output is written with `-fflags +bitexact` plus bitexact codec flags, so
# that no encoder version string, random stream serial or creation time ends up in the files: the
# same ffmpeg build makes the same bytes on every run.
#
# Usage: scripts/make_codec_fixtures.sh [OUT_DIR]   (default: fixtures/codecs next to this script)
# Needs: ffmpeg with libmp3lame, libvorbis, libopus and the native aac/alac/flac/mpeg4 encoders
# (Debian's ffmpeg package has them all).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-$here/../fixtures/codecs}"
mkdir -p "$out"

title="A4 Tone"
artist="Leitmotif Fixtures"
album="Codec Samples"

# Input definitions (lavfi sources). Stereo files carry the tone at half level on the right channel,
# so the mono mix-down (mean) is still a 440 Hz sine but the two channels differ.
mono_22k_half="aevalsrc=0.5*sin(2*PI*440*t):s=22050:d=0.5"
stereo_22k_half="aevalsrc=0.5*sin(2*PI*440*t)|0.25*sin(2*PI*440*t):s=22050:d=0.5:c=stereo"
mono_22k="aevalsrc=0.5*sin(2*PI*440*t):s=22050:d=1"
stereo_44k="aevalsrc=0.5*sin(2*PI*440*t)|0.25*sin(2*PI*440*t):s=44100:d=1:c=stereo"
mono_48k="aevalsrc=0.5*sin(2*PI*440*t):s=48000:d=1"
video="color=c=gray:s=16x16:r=5:d=1"

ff() {
    ffmpeg -nostdin -hide_banner -loglevel error -y "$@"
}

tags=(-metadata "title=$title" -metadata "artist=$artist" -metadata "album=$album")
exact=(-fflags +bitexact -flags:a +bitexact)
exactv=(-fflags +bitexact -flags:a +bitexact -flags:v +bitexact)

# WAV in four sample formats; the tags go into a RIFF LIST/INFO chunk (INAM, IART, IPRD).
ff -f lavfi -i "$stereo_22k_half" -c:a pcm_s16le "${tags[@]}" "${exact[@]}" "$out/tone_s16_stereo.wav"
ff -f lavfi -i "$mono_22k_half" -c:a pcm_s24le "${tags[@]}" "${exact[@]}" "$out/tone_s24.wav"
ff -f lavfi -i "$mono_22k_half" -c:a pcm_u8 "${tags[@]}" "${exact[@]}" "$out/tone_u8.wav"
ff -f lavfi -i "$mono_22k_half" -c:a pcm_f32le "${tags[@]}" "${exact[@]}" "$out/tone_f32.wav"

# FLAC (Vorbis comments), stereo 44.1 kHz.
ff -f lavfi -i "$stereo_44k" -c:a flac -sample_fmt s16 "${tags[@]}" "${exact[@]}" "$out/tone.flac"

# MP3 (ID3v2.4 tags), stereo 44.1 kHz, 64 kbit/s CBR.
ff -f lavfi -i "$stereo_44k" -c:a libmp3lame -b:a 64k "${tags[@]}" "${exact[@]}" "$out/tone.mp3"

# Ogg Vorbis (Vorbis comments), mono 22.05 kHz.
ff -f lavfi -i "$mono_22k" -c:a libvorbis -q:a 0 "${tags[@]}" "${exact[@]}" "$out/tone.ogg"

# AAC-LC and ALAC in M4A (iTunes ilst atoms).
ff -f lavfi -i "$stereo_44k" -c:a aac -b:a 48k "${tags[@]}" "${exact[@]}" "$out/tone_aac.m4a"
ff -f lavfi -i "$mono_22k" -c:a alac -sample_fmt s16p "${tags[@]}" "${exact[@]}" "$out/tone_alac.m4a"

# MP4 with a video track first and an AAC audio track second: decoding must pick the audio.
ff -f lavfi -i "$video" -f lavfi -i "$stereo_44k" -map 0:v -map 1:a -c:v mpeg4 -q:v 31 \
    -c:a aac -b:a 48k "${tags[@]}" "${exactv[@]}" "$out/tone_video.mp4"

# Matroska with Vorbis audio (Matroska tags).
ff -f lavfi -i "$mono_22k" -c:a libvorbis -q:a 0 "${tags[@]}" "${exact[@]}" "$out/tone.mkv"

# Opus in Ogg and in WebM: symphonia has no Opus decoder, so both must fail as UnsupportedCodec.
ff -f lavfi -i "$mono_48k" -c:a libopus -b:a 16k "${tags[@]}" "${exact[@]}" "$out/tone.opus"
ff -f lavfi -i "$mono_48k" -c:a libopus -b:a 16k "${tags[@]}" "${exact[@]}" "$out/tone_opus.webm"

# An MP4 holding video only: must fail as NoAudioTrack.
ff -f lavfi -i "$video" -c:v mpeg4 -q:v 31 "${exactv[@]}" "$out/video_only.mp4"

du -sh "$out"
