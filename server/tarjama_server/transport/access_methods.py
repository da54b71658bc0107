"""The access RPCs as every transport runs them (as ``methods``): ``GetUsage`` (the calling
key's use against its limits) and ``ListAudit`` (the desk's audit log, newest first, paged)."""

from __future__ import annotations

from tarjama_client.v1 import tarjama_pb2 as pb

from ..core.access import DEFAULT_AUDIT_PAGE, MAX_AUDIT_PAGE
from ..errors import FeatureDisabledError, InvalidRequestError
from .calls import Call, ServerState
from .desk_methods import rfc3339


async def get_usage(state: ServerState, request: pb.GetUsageRequest, call: Call) -> pb.KeyUsage:
    principal = call.principal
    usage, periods = await state.gate.usage(principal)
    limits = principal.limits
    return pb.KeyUsage(
        key_name=principal.name,
        scopes=sorted(principal.scopes),
        characters_today=usage.characters_today,
        requests_today=usage.requests_today,
        characters_this_month=usage.characters_this_month,
        requests_this_month=usage.requests_this_month,
        characters_per_day=limits.characters_per_day,
        characters_per_month=limits.characters_per_month,
        requests_per_minute=limits.requests_per_minute,
        day_resets_at=rfc3339(periods.next_day),
        month_resets_at=rfc3339(periods.next_month),
    )


async def list_audit(state: ServerState, request: pb.ListAuditRequest, call: Call) -> pb.ListAuditResponse:
    store = state.gate.store
    if store is None:
        raise FeatureDisabledError(
            "the audit log lives in the desk's database, and this server has none (--database-url none)"
        )
    size = request.page_size or DEFAULT_AUDIT_PAGE
    if not 0 < size <= MAX_AUDIT_PAGE:
        raise InvalidRequestError(f"page_size must be 1 to {MAX_AUDIT_PAGE} (0: {DEFAULT_AUDIT_PAGE}), got {size}")
    before: int | None = None
    if request.page_token:
        if not request.page_token.isdigit():
            raise InvalidRequestError("page_token must be the next_page_token of a previous ListAudit page")
        before = int(request.page_token)
    records = await store.list_audit(size + 1, before)
    page = records[:size]
    return pb.ListAuditResponse(
        entries=[
            pb.AuditEntry(
                id=record.id,
                time=rfc3339(record.at),
                actor=record.actor,
                action=record.action,
                subject=record.subject,
                detail=record.detail,
            )
            for record in page
        ],
        next_page_token=str(page[-1].id) if len(records) > size else "",
    )
