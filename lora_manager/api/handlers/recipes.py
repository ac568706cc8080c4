"""Routes of recipes over `core.recipes` (recipes/service.py; docs/recipes.md): list, CRUD, made from an
uploaded image, a text (a job result's, with its image as cover) or a recorded generation, export/import,
send to the host's tab, run as a job."""

from __future__ import annotations

from fastapi import Body, Path, Query, Request
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import Response

from ...recipes.images import MAX_BYTES
from .. import recipe_schemas as S
from ..responses import JSON

RECIPE_ID = Path(..., ge=1, le=2**31 - 1)
EVENT_ID = Path(..., ge=1, le=2**62)
IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp")
BINARY = {"schema": {"type": "string", "format": "binary"}}
IMAGE_BODY = {"requestBody": {"required": True, "description": "the image's bytes (PNG, JPEG or WebP)",
                              "content": {t: BINARY for t in IMAGE_TYPES}}}
IMPORT_BODY = {"requestBody": {"required": True, "description": "a recipe document (docs/recipes.md), or a PNG "
                               "exported with one", "content": {"application/json": {"schema": {"type": "object"}},
                                                                 "image/png": BINARY}}}


async def _body(request: Request, types: tuple[str, ...], limit: int) -> bytes:
    ctype = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if ctype not in types and ctype != "application/octet-stream":
        raise HTTPException(415, f"send {' or '.join(types)}, not {ctype[:100] or 'no content type'}")
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            raise HTTPException(413, f"a body of at most {limit >> 20} MB")
    return bytes(data)


def recipe_routes(core, route) -> list:
    """Route entries; `route` is routes.Route (passed in to avoid an import cycle)."""
    svc = core.recipes

    def list_recipes(q: str | None = Query(None, max_length=200, description="words of title, prompt, tags, LoRAs"),
                     tag: str | None = Query(None, max_length=100),
                     lora: str | None = Query(None, max_length=300, description="a LoRA by id, name or hash"),
                     limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0, le=1_000_000)) -> Response:
        return JSON(svc.list(q=q, tag=tag, lora=lora, limit=limit, offset=offset))

    def tags() -> Response:
        return JSON(svc.tags())

    def get(recipe_id: int = RECIPE_ID) -> Response:
        return JSON(svc.get(recipe_id))

    def create(req: S.RecipeCreate = Body(...)) -> Response:
        return JSON(svc.create(req.model_dump(exclude_unset=True)), status_code=201)

    def patch(recipe_id: int = RECIPE_ID, req: S.RecipePatch = Body(...)) -> Response:
        return JSON(svc.patch(recipe_id, req.model_dump(exclude_unset=True)))

    def delete(recipe_id: int = RECIPE_ID) -> Response:
        return JSON(svc.delete(recipe_id))

    def cover(recipe_id: int = RECIPE_ID) -> Response:
        return FileResponse(svc.cover_path(recipe_id), media_type="image/webp",
                            headers={"Cache-Control": "private, max-age=60"})

    async def from_image(request: Request, title: str | None = Query(None, max_length=200)) -> Response:
        data = await _body(request, IMAGE_TYPES, MAX_BYTES)
        return JSON(await run_in_threadpool(svc.from_image, data, title=title), status_code=201)

    def from_text(req: S.RecipeFromText = Body(...)) -> Response:
        image = None
        if req.result is not None:  # one of our job results (NotFound otherwise): its image is the cover
            path = core.generation.results.image_path(req.result.id, req.result.image)
            with open(path, "rb") as f:
                image = f.read(MAX_BYTES + 1)
        return JSON(svc.from_text(req.text, title=req.title, image=image), status_code=201)

    def from_event(event_id: int = EVENT_ID) -> Response:
        return JSON(svc.from_event(event_id), status_code=201)

    def export(recipe_id: int = RECIPE_ID, format: str = Query("json", pattern="^(json|png)$")) -> Response:
        media, body, name = svc.export(recipe_id, format)
        return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})

    async def import_(request: Request) -> Response:
        data = await _body(request, ("application/json", "image/png"), MAX_BYTES)
        return JSON(await run_in_threadpool(svc.import_, data), status_code=201)

    def send(recipe_id: int = RECIPE_ID) -> Response:
        return JSON(svc.send(recipe_id))

    def run(recipe_id: int = RECIPE_ID) -> Response:
        return JSON(svc.run(recipe_id), status_code=202)

    from ..routes import ERRORS

    def out(content: dict) -> dict:
        return {"response_class": Response, "responses": {**ERRORS, 200: {"content": content, "description": "file"}}}

    return [
        route("/recipes", "GET", list_recipes, "recipes, newest first: search, filter by tag and by LoRA",
              S.RecipePage),
        route("/recipes", "POST", create, "save a recipe (LoRAs matched by hash, then name)", S.Recipe,
              status_code=201),
        route("/recipes/tags", "GET", tags, "recipe tags with counts", list[S.RecipeTag]),
        route("/recipes/from-image", "POST", from_image, "a recipe from an image's generation parameters "
              "(SDNext, A1111, ComfyUI, Civitai); the image becomes its cover", S.RecipeFromImage, status_code=201,
              max_body=MAX_BYTES, extra={"openapi_extra": IMAGE_BODY}),
        route("/recipes/from-text", "POST", from_text, "a recipe from generation parameters as text (a job's "
              "infotext) or a prompt with <lora:...> tags (the host's prompt box); with result, that job result's "
              "image becomes its cover", S.RecipeFromImage, status_code=201),
        route("/recipes/from-event/{event_id}", "POST", from_event, "a recipe from a recorded generation (usage)",
              S.Recipe, status_code=201),
        route("/recipes/import", "POST", import_, "import a recipe document or a PNG carrying one", S.RecipeImported,
              status_code=201, max_body=MAX_BYTES, extra={"openapi_extra": IMPORT_BODY}),
        route("/recipes/{recipe_id}", "GET", get, "one recipe, each LoRA with its presence, and warnings", S.Recipe),
        route("/recipes/{recipe_id}", "PATCH", patch, "edit a recipe (loras and tags replace the old ones)", S.Recipe),
        route("/recipes/{recipe_id}", "DELETE", delete, "delete a recipe and its cover", S.RecipeDeleted),
        route("/recipes/{recipe_id}/cover", "GET", cover, "the recipe's cover image", extra=out({"image/webp": {}})),
        route("/recipes/{recipe_id}/export", "GET", export, "the recipe as a JSON document or a PNG carrying it",
              extra=out({"application/json": {}, "image/png": {}})),
        route("/recipes/{recipe_id}/send", "POST", send, "what the host's tab takes: the infotext its paste button "
              "reads, the prompt with its LoRA tags, the settings, and warnings", S.RecipeSend),
        route("/recipes/{recipe_id}/run", "POST", run, "queue the recipe as a job (inside the host)", S.RecipeRun,
              status_code=202),
    ]
