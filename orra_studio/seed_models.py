"""The seed example's input and output models (orra's README: customer inquiry).

It imports nothing but pydantic, so the test services written with the original ``orra-sdk``
(in a virtualenv without Orra Studio) load this very file instead of a copy of it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

__all__ = [
    "AssistantIn",
    "AssistantOut",
    "CatalogIn",
    "CatalogOut",
    "CustomerIn",
    "CustomerOut",
    "SellerIn",
    "SellerOut",
]


class CustomerIn(BaseModel):
    customerId: str


class CustomerOut(BaseModel):
    customerProfile: dict[str, Any]


class CatalogIn(BaseModel):
    inquiry: str


class CatalogOut(BaseModel):
    relevantProducts: list[dict[str, Any]]


class SellerIn(BaseModel):
    sellerId: str


class SellerOut(BaseModel):
    sellerProfile: dict[str, Any]


class AssistantIn(BaseModel):
    customerProfile: dict[str, Any]
    relevantProducts: list[dict[str, Any]]
    sellerProfile: dict[str, Any]
    inquiry: str


class AssistantOut(BaseModel):
    content: str
    sentTimestamp: str
