#!/usr/bin/env bash
# Makes the seed corpus of the `decode_chroma` fuzz target in fuzz/seeds/ (not committed): tiny
# files (a fraction of a second, low rates) of every container and codec symphonia reads, plus
# the codec fixtures. Each seed starts with the byte that picks its extension hint in the target
# (the index into HINTS in fuzz_targets/decode_chroma.rs), followed by the file itself.
#
# Usage: fuzz/make_seeds.sh   (needs ffmpeg with libmp3lame and libvorbis)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$here/seeds"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"

# Index of each extension in HINTS.
declare -A hint=([wav]=0 [mp3]=1 [flac]=2 [ogg]=3 [m4a]=4 [mkv]=5 [aac]=6 [caf]=7 [aiff]=8 [mp2]=9 [webm]=10)

seed() { # seed NAME EXT FILE
    { printf "\\x$(printf %02x "${hint[$2]}")"; cat "$3"; } > "$out/$1"
}

tone="aevalsrc=0.4*sin(2*PI*440*t)+0.2*sin(2*PI*660*t):s=8000:d=0.3"
stereo="aevalsrc=0.4*sin(2*PI*440*t)|0.3*sin(2*PI*550*t):s=11025:d=0.3:c=stereo"
enc() { # enc NAME EXT SOURCE ARGS...
    local name=$1 ext=$2 src=$3
    shift 3
    ffmpeg -v error -y -f lavfi -i "$src" -fflags +bitexact "$@" "$tmp/$name.$ext"
    seed "$name" "$ext" "$tmp/$name.$ext"
}
enc pcm_s16 wav "$tone" -c:a pcm_s16le
enc pcm_f32_stereo wav "$stereo" -c:a pcm_f32le
enc pcm_u8 wav "$tone" -c:a pcm_u8
enc pcm_alaw wav "$tone" -c:a pcm_alaw
enc pcm_mulaw wav "$tone" -c:a pcm_mulaw
enc adpcm_ms wav "$tone" -c:a adpcm_ms
enc adpcm_ima wav "$tone" -c:a adpcm_ima_wav
enc mp3 mp3 "$stereo" -c:a libmp3lame -b:a 32k
enc mp2 mp2 "$tone" -c:a mp2 -b:a 32k
enc flac flac "$stereo" -c:a flac
enc vorbis ogg "$tone" -c:a libvorbis -q:a 0
enc aac m4a "$stereo" -c:a aac -b:a 24k
enc alac m4a "$tone" -c:a alac
enc adts aac "$tone" -c:a aac -b:a 16k -f adts
enc mkv_vorbis mkv "$tone" -c:a libvorbis -q:a 0
enc webm_vorbis webm "$tone" -c:a libvorbis -q:a 0
enc caf_pcm caf "$tone" -c:a pcm_s16be
enc aiff aiff "$tone" -c:a pcm_s16be
for f in "$here"/../fixtures/codecs/*.*; do
    name=$(basename "$f")
    ext=${name##*.}
    [[ -n "${hint[$ext]:-}" ]] || continue
    seed "fixture_$name" "$ext" "$f"
done
ls "$out" | wc -l
