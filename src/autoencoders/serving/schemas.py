"""The JSON bodies of the HTTP API (pydantic models, which also write its OpenAPI schema)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

# Strict: true, "1" or null are not numbers; NaN and ±Infinity are refused.
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
# One sample: flat, or nested to the model's input shape ((H, W) or (C, H, W) for images).
Sample = list[Number] | list[list[Number]] | list[list[list[Number]]]
OutputFormat = Literal["json", "png"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InputsRequest(_Body):
    """Samples in the units of the training data (e.g. 0-255 for MNIST's uint8 pixels)."""

    inputs: list[Sample] = Field(min_length=1, description="One entry per sample.")


class CodesRequest(_Body):
    codes: list[list[Number]] = Field(
        min_length=1, description="One flat code per sample, as /encode returns them."
    )


class SampleRequest(_Body):
    n: int = Field(default=1, ge=1, strict=True, description="How many samples to draw.")
    seed: int | None = Field(
        default=None, ge=0, le=2**31 - 1, strict=True, description="For repeatable draws."
    )


class CodesResponse(BaseModel):
    codes: list[list[float]]


class OutputsResponse(BaseModel):
    outputs: list[Sample] = Field(description="One entry per sample, in the model's output shape.")


class ScoreResponse(BaseModel):
    scores: list[float] = Field(description="Anomaly score per sample: higher is more anomalous.")
    anomalous: list[bool] = Field(description="score > threshold, per sample.")
    threshold: float


class HealthResponse(BaseModel):
    status: Literal["ok"]
    model: str
    input_shape: list[int]
    output_shape: list[int]
    code_size: int
    variational: bool
    threshold: float
    threshold_source: str
    max_batch: int
    max_request_bytes: int


class ErrorResponse(BaseModel):
    detail: str = Field(description="What was wrong with the request, in one line.")
