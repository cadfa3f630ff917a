"""The FastAPI application: GET /plaintext, as TechEmpower's FastAPI entry writes it."""

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


@app.get("/plaintext", response_class=PlainTextResponse)
async def plaintext() -> PlainTextResponse:
    return PlainTextResponse(b"Hello, World!")
