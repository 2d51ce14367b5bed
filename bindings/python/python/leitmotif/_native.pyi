"""Type stubs of the compiled half of leitmotif (use the functions of ``leitmotif`` itself)."""

from typing import Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

def chroma(
    path: str, *, hop: float, layout: str, kind: str, cache: Union[bool, str, None] = ...
) -> Tuple[npt.NDArray[np.float32], str]: ...
def analyze(
    paths: Sequence[str],
    *,
    min_len: Optional[float] = ...,
    threshold: Optional[float] = ...,
    max_motifs: Optional[int] = ...,
    cache: Union[bool, str, None] = ...,
    progress: bool = ...,
) -> str: ...
def find(
    query: str,
    paths: Sequence[str],
    *,
    threshold: Optional[float] = ...,
    cache: Union[bool, str, None] = ...,
    progress: bool = ...,
) -> str: ...
def cues(
    tracks: Sequence[str],
    episodes: Sequence[str],
    *,
    min_len: Optional[float] = ...,
    threshold: Optional[float] = ...,
    cache: Union[bool, str, None] = ...,
    progress: bool = ...,
) -> str: ...
def evaluate(truth: str, report: str, names: Tuple[str, str]) -> str: ...
def audio_files(paths: Sequence[str]) -> list[str]: ...
def version() -> str: ...
def defaults() -> str: ...
