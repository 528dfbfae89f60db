"""The line reader's network (torch): a CNN that turns every STRIDE columns of a line image into a
frame and a bidirectional LSTM that reads the frames both ways (see `line_model`), and the
batches it reads."""

import numpy as np
import torch
from torch import nn

from digitrec.models.ours import conv_bn
from digitrec.reading.line_shape import BLANK, HEIGHT, STRIDE, frame_count


class LineNet(nn.Module):
    """(B, 1, HEIGHT, W) -> (B, W // STRIDE, 11) log-probabilities (classes 0-9 and blank)."""

    def __init__(self, widths: tuple[int, int, int] = (24, 48, 64), hidden: int = 64) -> None:
        super().__init__()
        a, b, c = widths
        # (block, columns per frame after it): the columns past a line's end are zeroed after
        # every block, as the next convolution's own zero padding would be for a line alone.
        self.blocks = nn.ModuleList([conv_bn(1, a), conv_bn(a, b), conv_bn(b, c), conv_bn(c, c)])
        self.pools = nn.ModuleList(
            [nn.MaxPool2d(2), nn.MaxPool2d(2), nn.Identity(), nn.MaxPool2d((2, 1))]
        )
        self.column = nn.Sequential(  # HEIGHT/8 rows -> one feature vector per frame
            nn.Conv2d(c, 2 * c, (HEIGHT // 8, 1), bias=False),
            nn.BatchNorm2d(2 * c),
            nn.ReLU(inplace=True),
        )
        self.lstm = nn.LSTM(2 * c, hidden, batch_first=True, bidirectional=True)
        self.head = nn.Linear(2 * hidden, BLANK + 1)

    def forward(self, x: torch.Tensor, frames: torch.Tensor | None = None) -> torch.Tensor:
        """x: (B, 1, HEIGHT, W) ink in [0, 1]; frames: (B,) int64, each line's own frame count
        (the rest is padding, which neither the convolutions nor the LSTM read). None: every
        column is the lines' own (one line, W a multiple of STRIDE), so nothing is masked or
        packed — the graph `line_onnx` exports."""
        for block, pool in zip(self.blocks, self.pools, strict=True):
            x = block(x)
            if frames is not None:
                columns = frames * (x.shape[-1] // int(frames.max()))
                x = x * (torch.arange(x.shape[-1]) < columns[:, None])[:, None, None, :]
            x = pool(x)
        sequence = self.column(x).squeeze(2).transpose(1, 2)  # (B, T, 2c)
        if frames is None:
            out, _ = self.lstm(sequence)
        else:
            packed = nn.utils.rnn.pack_padded_sequence(
                sequence, frames.cpu(), batch_first=True, enforce_sorted=False
            )
            read, _ = self.lstm(packed)
            out, _ = nn.utils.rnn.pad_packed_sequence(
                read, batch_first=True, total_length=sequence.shape[1]
            )
        logits: torch.Tensor = self.head(out)
        return torch.log_softmax(logits, dim=-1)


def as_batch(images: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """Line images (HEIGHT, W_i) uint8 -> a (B, 1, HEIGHT, W) float batch in [0, 1], padded with
    paper (0, the same as the convolutions' own zero padding, so a line reads the same alone or
    beside longer ones), and each line's frame count."""
    width = max(frame_count(i.shape[1]) for i in images) * STRIDE
    batch = np.zeros((len(images), 1, HEIGHT, width), np.float32)
    for k, image in enumerate(images):
        usable = min(frame_count(image.shape[1]) * STRIDE, image.shape[1])
        batch[k, 0, :, :usable] = image[:, :usable] / 255.0
    frames = torch.tensor([frame_count(i.shape[1]) for i in images], dtype=torch.int64)
    return torch.from_numpy(batch), frames
