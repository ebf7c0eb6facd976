"""Write a data set as the CSV layout (``path,label,group[,fold][,speaker][,source,start_s,end_s]``)
every reader takes.

The one writer for the audit's "export corrected labels", the wizard's ``data.csv`` (the run's
record of what it trained on) and scripts: every column a clip carries is kept, so a data set
read back (``read_manifest(path, "csv")``) splits and normalises as the original did (a
speaker column dropped here once turned speaker normalisation off for wizard runs).
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from engine.atomic import atomic_write_text
from engine.datasets.clips import Manifest


def write_manifest_csv(manifest: Manifest, path: str | os.PathLike, *, relative: bool = True) -> Path:
    """Write ``manifest`` to ``path`` atomically; returns the path written.

    With ``relative`` a clip under the CSV's folder is written relative to it, others absolute.
    ``fold`` and ``speaker`` columns are written only when some clip has one.
    """
    path = Path(path).resolve()
    folder = path.parent
    with_folds = any(c.fold is not None for c in manifest.clips)
    with_speakers = any(c.speaker for c in manifest.clips)
    # where a clip was cut from (a recording and its span): the trainer's leakage audit then sees
    # clips of one recording whose audio overlaps across sides
    with_spans = any(c.source for c in manifest.clips)
    header = (["path", "label", "group"] + ["fold"] * with_folds + ["speaker"] * with_speakers
              + ["source", "start_s", "end_s"] * with_spans)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for clip in manifest.clips:
        clip_path = Path(clip.path).resolve()
        shown = clip_path.as_posix()
        if relative:
            try:
                shown = clip_path.relative_to(folder).as_posix()
            except ValueError:
                pass
        row = [shown, clip.label, clip.group]
        if with_folds:
            row.append("" if clip.fold is None else str(clip.fold))
        if with_speakers:
            row.append(clip.speaker or "")
        if with_spans:
            row += [clip.source or "", "" if clip.start_s is None else repr(clip.start_s),
                    "" if clip.end_s is None else repr(clip.end_s)]
        writer.writerow(row)
    atomic_write_text(path, buffer.getvalue())
    return path
