"""Make docs/segmentation.png: how /api/number finds the digits of "2024" when the 0 touches the 2.

    PYTHONPATH=. python docs/make_segmentation_figure.py [--out PATH]

Draws a real writer's "2", "0", "2", "4" (UNIPEN training digits) on the 840x280 pad as the
page draws strokes, the 0 overlapping the 2 after it, and reads it from the image alone with
`model.serving.segment.read_number`. Three panels: the atoms (one colour each) with the
candidate cuts through touching ink; every candidate piece as an arc over the atoms it spans,
labelled with the digit the network reads in it and the piece's cost, the cheapest path in
colour; and the 28x28 input of each chosen piece.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from model.data.canvas import png_bytes
from model.data.numbers import NUMBER_PAD, layout_number, render_number
from model.data.unipen import load_strokes
from model.resources import shipped_weights
from model.serving.atoms import working_grid
from model.serving.predictor import Predictor
from model.serving.preprocess import ink_map, open_image
from model.serving.segment import NumberReading, read_number

RECORDS = (1, 21, 1, 9)  # a training writer's 2, 0, 2, 4 (the test digits)
GAPS = (0.3, -0.06, 0.3)  # between neighbours' ink, in digit heights: the 0 overlaps the 2
HEIGHT, PEN = 150.0, 14.0
MARGIN, LATTICE, INPUTS = 20, 300, 150  # px: around the figure, the arcs' panel, the inputs'
COLOURS = [(231, 111, 81), (42, 157, 143), (233, 196, 106), (38, 70, 83), (244, 162, 97)]
PATH_COLOUR, GREY, INK = (200, 30, 60), (150, 150, 150), (30, 30, 30)


def drawing() -> tuple[np.ndarray, str]:
    strokes = load_strokes()
    digits = [strokes.strokes(r) for r in RECORDS]
    gaps = [g * HEIGHT for g in GAPS]
    params = layout_number(digits, [HEIGHT] * len(digits), gaps, PEN, NUMBER_PAD)
    png = png_bytes(render_number(digits, params, NUMBER_PAD))
    label = "".join(str(int(strokes.labels[r])) for r in RECORDS)
    return ink_map(open_image(png)), label


def atoms_panel(ink: np.ndarray, reading: NumberReading) -> Image.Image:
    """The drawing, each atom's ink in its colour, cuts dashed, chosen pieces boxed."""
    height, width = ink.shape
    grid = working_grid(ink)
    f = grid.factor
    rgb = np.full((height, width, 3), 255.0)
    for index, atom in enumerate(reading.atoms.atoms):
        mask = np.zeros(grid.inked.shape, dtype=bool)
        mask[atom.top : atom.bottom, atom.left : atom.right] = atom.mask
        mask = np.repeat(np.repeat(mask, f, axis=0), f, axis=1)[:height, :width]
        colour = np.array(COLOURS[index % len(COLOURS)], dtype=np.float64)
        alpha = (ink * mask)[..., None]
        rgb = rgb * (1 - alpha) + colour * alpha
    image = Image.fromarray(rgb.astype(np.uint8))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=16)
    atoms = reading.atoms.atoms
    for atom in atoms:  # a cut is where two atoms of one blob meet
        if any(other.blob == atom.blob and other.right == atom.left for other in atoms):
            x = atom.left * f
            for y in range(10, height - 10, 12):
                draw.line([(x, y), (x, y + 6)], fill=INK, width=2)
    draw.rectangle((0, 0, width - 1, height - 1), outline=GREY)  # the pad's edge
    for piece in reading.pieces:
        draw.rectangle(piece.box, outline=PATH_COLOUR, width=2)
        text = f"{piece.prediction.digit}  {piece.prediction.confidence:.2f}"
        draw.text((piece.box[0] + 3, piece.box[1] - 20), text, fill=PATH_COLOUR, font=font)
    return image


def lattice_panel(width: int, reading: NumberReading) -> Image.Image:
    """Nodes between atoms; an arc per candidate piece; the chosen path in colour."""
    image = Image.new("RGB", (width, LATTICE), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=13)
    bold = ImageFont.load_default(size=15)
    f = reading.factor
    atoms = reading.atoms.atoms
    edges = [atoms[0].left * f]
    edges += [(a.right + b.left) * f / 2 for a, b in itertools.pairwise(atoms)]
    edges.append(atoms[-1].right * f)
    base = LATTICE - 30
    chosen = {(p.first, p.last) for p in reading.pieces}
    labels = []
    for candidate in sorted(reading.candidates, key=lambda c: (c.first, c.last) in chosen):
        x0, x1 = edges[candidate.first], edges[candidate.last]
        rise = 20 + 55 * (candidate.last - candidate.first)
        on_path = (candidate.first, candidate.last) in chosen
        colour, line = (PATH_COLOUR, 4) if on_path else (GREY, 1)
        draw.arc((x0, base - rise, x1, base + rise), 180, 360, fill=colour, width=line)
        labels.append(((x0 + x1) / 2, base - rise, candidate, colour, bold if on_path else font))
    for x, y, candidate, colour, face in labels:  # on top of every arc, on a white ground
        text = f"{candidate.prediction.digit} {candidate.cost:.2f}"
        box = draw.textbbox((x, y), text, font=face, anchor="mm")
        draw.rectangle((box[0] - 2, box[1] - 1, box[2] + 2, box[3] + 1), fill="white")
        draw.text((x, y), text, fill=colour, font=face, anchor="mm")
    for x in edges:
        draw.ellipse((x - 5, base - 5, x + 5, base + 5), fill=INK)
    draw.text(
        (4, LATTICE - 20),
        "every candidate piece: the digit read in it and its cost (-log p + penalties); "
        "the cheapest path in red",
        fill=INK,
        font=font,
    )
    return image


def inputs_panel(width: int, reading: NumberReading) -> Image.Image:
    """The 28x28 input of every chosen piece, 4x, with its reading."""
    image = Image.new("RGB", (width, INPUTS), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=15)
    for index, piece in enumerate(reading.pieces):
        x = 20 + index * 150
        picture = Image.fromarray(255 - piece.prediction.pixels).resize((112, 112), Image.NEAREST)
        image.paste(picture, (x, 8))
        draw.rectangle((x, 8, x + 111, 119), outline=GREY)
        text = f"{piece.prediction.digit}  ({piece.prediction.confidence:.1%})"
        draw.text((x, 124), text, fill=INK, font=font)
    draw.text(
        (20 + len(reading.pieces) * 150 + 10, 45),
        "the chosen pieces, each\nthrough the same recipe\nas a single digit",
        fill=INK,
        font=font,
    )
    return image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("segmentation.png"))
    args = parser.parse_args()

    ink, label = drawing()
    reading = read_number(Predictor.from_file(shipped_weights()), ink)
    width = ink.shape[1]
    panels = [
        atoms_panel(ink, reading),
        lattice_panel(width, reading),
        inputs_panel(width, reading),
    ]
    title = (
        f'"{label}", the 0 touching the 2, from the image alone: '
        f"{len(reading.atoms.atoms)} atoms, {len(reading.candidates)} candidate pieces read "
        f'in one batch; read "{reading.number}" ({reading.confidence:.1%})'
    )
    figure = Image.new(
        "RGB", (width + 2 * MARGIN, sum(p.height for p in panels) + 2 * MARGIN + 30), "white"
    )
    ImageDraw.Draw(figure).text(
        (MARGIN, MARGIN - 4), title, fill=INK, font=ImageFont.load_default(size=16)
    )
    y = MARGIN + 30
    for panel in panels:
        figure.paste(panel, (MARGIN, y))
        y += panel.height
    figure.quantize(colors=64).save(args.out, optimize=True)
    print(f"wrote {args.out}: {label!r} read as {reading.number!r}")


if __name__ == "__main__":
    main()
