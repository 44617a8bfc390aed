"""The JSON API under /api: parse, call the desk use case, return its view (redacted).

Policy: every GET needs a session (any role); every POST needs an approver and the CSRF token
(``bot.web.auth``). Approvals call ``bot.desk.approvals`` exactly as the CLI and Telegram do (the
same re-checks, compare-and-set and book lock), with actor ``web:<telegram id or os user>``. A
``DeskError`` is a 409 whose detail is its one line; an unknown id is a 404. Every body passes the
redactor (the configured secrets and key-shaped text), as the CLI's ``--json`` does.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, TypeAdapter

from bot.desk import approvals, views
from bot.desk.explain import explain
from bot.desk.explain_views import CycleStory, ProposalStory
from bot.desk.results import DecisionResult, DeskError, PnlView, ProposalLine, RiskUsageView
from bot.desk.risk_usage import risk_usage
from bot.web import reads
from bot.web.auth import Session, actor_session, reader
from bot.web.context import WebContext
from bot.web.models import (
    AlertLine,
    BacktestDetail,
    BacktestSummary,
    DecisionLine,
    EquityChart,
    LlmCalls,
    Overview,
    PositionRow,
    RejectBody,
    SessionInfo,
    SleevesPage,
)
from bot.web.roles import actor

Reader = Annotated[Session, Depends(reader)]
Actor = Annotated[Session, Depends(actor_session)]
# Ids are short printable words (``p1a2b3c4d``, ``cd0e9…``, ``bt…-f1``): anything else is a 422, never a query.
Id = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
router = APIRouter(prefix="/api", responses={401: {"description": "no valid session"}})


def _ctx(request: Request) -> WebContext:
    context: WebContext = request.app.state.web
    return context


def _json(ctx: WebContext, value: BaseModel | list[Any] | dict[str, Any]) -> JSONResponse:
    data = value.model_dump(mode="json") if isinstance(value, BaseModel) else TypeAdapter(Any).dump_python(
        value, mode="json")
    return JSONResponse(ctx.redactor.value(data))


@router.get("/session", response_model=SessionInfo)
def session_info(session: Reader, request: Request) -> JSONResponse:
    """Who is logged in, their role and the CSRF token their actions must carry."""
    info = SessionInfo(actor=actor(session.holder), role=str(session.role), csrf=session.csrf,
                       expires_at=session.expires)
    return JSONResponse(info.model_dump(mode="json"))  # the CSRF token is the caller's own: not redacted


@router.get("/overview", response_model=Overview)
async def overview(_: Reader, request: Request) -> JSONResponse:
    """Equity, cash, drawdown, trading state, the next scheduled runs and the latest alerts."""
    ctx = _ctx(request)
    status = await views.status(ctx.desk)
    alerts = [AlertLine(at=a.at, kind=a.kind, severity=a.severity, message=a.message)
              for a in ctx.desk.store.alerts(limit=10)]
    return _json(ctx, Overview(status=status, next_runs=ctx.next_runs(), alerts=alerts,
                               synthetic=ctx.desk.market.provider.synthetic))


@router.get("/equity", response_model=EquityChart)
def equity(_: Reader, request: Request) -> JSONResponse:
    """Daily equity against SPY, CAC 40 and the equal-weight universe, and the drawdown."""
    ctx = _ctx(request)
    return _json(ctx, ctx.cached("equity", lambda: reads.equity_chart(ctx.desk)))


@router.get("/pnl", response_model=PnlView)
async def pnl(_: Reader, request: Request) -> JSONResponse:
    """P&L since the first cycle, with the equity snapshots."""
    ctx = _ctx(request)
    return _json(ctx, await views.pnl(ctx.desk))


@router.get("/positions", response_model=list[PositionRow])
async def positions(_: Reader, request: Request) -> JSONResponse:
    """Open positions with weights, P&L and stop levels."""
    ctx = _ctx(request)
    return _json(ctx, await reads.position_rows(ctx.desk))


@router.get("/pending", response_model=list[ProposalLine])
def pending(_: Reader, request: Request) -> JSONResponse:
    """Proposals awaiting a human decision (expired ones are expired first)."""
    ctx = _ctx(request)
    return _json(ctx, views.pending(ctx.desk))


@router.get("/decisions", response_model=list[DecisionLine])
def decisions(_: Reader, request: Request,
              symbol: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9.^=_-]{1,40}$")] = None,
              verdict: Annotated[str | None, Query(pattern="^(SAFE|BORDERLINE|UNSAFE)$")] = None,
              actor_prefix: Annotated[str | None, Query(alias="actor", pattern=r"^[A-Za-z0-9_.:-]{1,64}$")] = None,
              limit: Annotated[int, Query(ge=1, le=500)] = 50) -> JSONResponse:
    """The decision log, newest first, filtered by symbol, verdict level and actor (a prefix: ``web:``)."""
    ctx = _ctx(request)
    return _json(ctx, reads.decisions(ctx.desk, symbol=symbol, verdict=verdict, actor=actor_prefix, limit=limit))


@router.get("/explain/{item_id}", response_model=ProposalStory | CycleStory,
            responses={404: {"description": "no such proposal or cycle"}})
def story(_: Reader, request: Request, item_id: Id) -> JSONResponse:
    """The whole story of one proposal or cycle."""
    ctx = _ctx(request)
    try:
        return _json(ctx, explain(ctx.desk, item_id, ctx.secrets))
    except DeskError as exc:
        raise HTTPException(status_code=404, detail=ctx.redactor.text(str(exc))) from None


@router.get("/risk", response_model=RiskUsageView)
async def risk(_: Reader, request: Request) -> JSONResponse:
    """Each risk limit and how much of it is used now."""
    ctx = _ctx(request)
    return _json(ctx, await risk_usage(ctx.desk))


@router.get("/sleeves", response_model=SleevesPage)
async def sleeves(_: Reader, request: Request) -> JSONResponse:
    """Each sleeve's budget, holdings and figures, and the budgets by day (a desk without sleeves says so)."""
    ctx = _ctx(request)
    return _json(ctx, await reads.sleeves_page(ctx.desk))


@router.get("/llm/calls", response_model=LlmCalls)
def llm_calls(_: Reader, request: Request, limit: Annotated[int, Query(ge=1, le=500)] = 50) -> JSONResponse:
    """Recent LLM calls (as ``paperdesk llm calls`` shows them) and the month's spend against the budget."""
    ctx = _ctx(request)
    return _json(ctx, reads.llm_calls(ctx.desk, ctx.settings.llm_budget_usd, limit))


@router.get("/backtests", response_model=list[BacktestSummary])
def backtests(_: Reader, request: Request, limit: Annotated[int, Query(ge=1, le=200)] = 20) -> JSONResponse:
    """Stored backtest runs with their metrics, newest first."""
    ctx = _ctx(request)
    return _json(ctx, reads.backtest_runs(ctx.desk, limit))


@router.get("/backtests/{run_id}", response_model=BacktestDetail,
            responses={404: {"description": "no such run"}})
def backtest(_: Reader, request: Request, run_id: Id) -> JSONResponse:
    """One backtest run with its equity curve."""
    ctx = _ctx(request)
    detail = reads.backtest_run(ctx.desk, run_id)
    if detail is None:
        raise HTTPException(status_code=404, detail="no such backtest run")
    return _json(ctx, detail)


@router.post("/proposals/{proposal_id}/approve", response_model=DecisionResult,
             responses={403: {"description": "not an approver, or no CSRF token"},
                        409: {"description": "the desk refused: the detail says why"}})
async def approve(session: Actor, request: Request, proposal_id: Id) -> JSONResponse:
    """Approve a pending proposal: re-price, re-check risk, execute once."""
    ctx = _ctx(request)
    try:
        result = await approvals.approve(ctx.desk, proposal_id, actor(session.holder))
    except DeskError as exc:
        raise HTTPException(status_code=409, detail=ctx.redactor.text(str(exc))) from None
    await ctx.settle()
    return _json(ctx, result)


@router.post("/proposals/{proposal_id}/reject", response_model=DecisionResult,
             responses={403: {"description": "not an approver, or no CSRF token"},
                        409: {"description": "the desk refused: the detail says why"}})
async def reject(session: Actor, request: Request, proposal_id: Id, body: RejectBody | None = None,
                 ) -> JSONResponse:
    """Reject a pending proposal, with an optional reason."""
    ctx = _ctx(request)
    try:
        result = approvals.reject(ctx.desk, proposal_id, actor(session.holder), body.reason if body else None)
    except DeskError as exc:
        raise HTTPException(status_code=409, detail=ctx.redactor.text(str(exc))) from None
    await ctx.settle()
    return _json(ctx, result)
