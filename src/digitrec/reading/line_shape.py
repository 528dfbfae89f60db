"""The shape of the line reader's input and output, shared by the reader (`line_model`) and its
network (`line_net`): line images of HEIGHT rows, a frame per STRIDE columns, classes 0-9 and
BLANK."""

HEIGHT = 32  # rows of a line image
PAD = 2  # rows of paper above and below the ink, columns beside it (× 2)
STRIDE = 4  # line-image columns per frame
BLANK = 10  # CTC's blank class; 0-9 are the digits
MAX_WIDTH = 4096  # longer line images are squeezed to this (about 150 digits)

__all__ = ["BLANK", "HEIGHT", "MAX_WIDTH", "PAD", "STRIDE", "frame_count"]


def frame_count(width: int) -> int:
    """The frames of a line image `width` columns wide."""
    return max(1, width // STRIDE)
