"""Demo content: users, markets and news items built from the facts of the seed article.

This module owns the data a fresh demo install is seeded with, and nothing else: no I/O, no
clock. Every text is written in our own words from the facts of `shared/seed/seed-article.txt`
(published 2026-05-13) and its related reads; the demo "today" is 2026-11-25.

Invariants (checked by `tests/demo/test_content.py`):
- money is an int of micro-USDC, times are ints of ms since the Unix epoch (UTC);
- market slugs are unique, every rule field is filled, close < resolution deadline;
- open markets close after the demo today; exactly one market is in review and exactly one is
  settled (decided before today, with a rejected dispute in its history);
- `fair_yes_micro` holds one price per outcome, on the market's tick, within 0.05 .. 0.95; a
  binary market's two prices sum to exactly 1 USDC, a categorical market's to about 1 USDC;
- every news item links only to existing markets; every news item after the seed day is analysis;
- the README logins (`USERS`) never trade or dispute in the demo: its bots (`BOTS`) do.

Settled outcomes and follow-up analysis are demo data, not a record of real events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from foretell.domain.units import MICRO

Role = Literal["supervisor", "creator", "trader"]
MarketKind = Literal["binary", "categorical"]
MarketStatus = Literal[
    "draft", "in_review", "open", "halted", "closed", "resolution_proposed", "disputed",
    "settled", "voided",
]
HistoryAction = Literal[
    "drafted", "submitted", "changes_requested", "resubmitted", "approved", "opened", "closed",
    "resolution_proposed", "disputed", "dispute_rejected", "dispute_upheld", "settled", "voided",
]
NewsKind = Literal["report", "analysis"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _ms(text: str) -> int:
    """ms since the Unix epoch for an ISO 8601 UTC time such as "2026-05-13T08:00:00Z"."""
    moment = datetime.fromisoformat(text)
    if moment.utcoffset() != timedelta(0):
        raise ValueError(f"demo times must be UTC: {text!r}")
    # Integer division of timedeltas keeps this exact: no float timestamp is involved.
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def _usdc(whole_usdc: int) -> int:
    return whole_usdc * MICRO


DEMO_TODAY_MS = _ms("2026-11-25T00:00:00Z")
"""The demo's notion of today: open markets close after it, settled ones were decided before."""

SEED_PUBLISHED_MS = _ms("2026-05-13T00:00:00Z")
"""Start of the day the seed article and its related reads were published."""

DEMO_PASSWORD = "foretell-demo"
"""The one password every demo account uses. Demo only: never seed it into a real install."""

DEMO_FEED_PACKAGE = "foretell.demo"
DEMO_FEED_PATH = "feeds/foretell-desk.xml"
"""RSS 2.0 file for the demo feed poller, relative to `DEMO_FEED_PACKAGE`; read it with
`importlib.resources.files(DEMO_FEED_PACKAGE).joinpath(DEMO_FEED_PATH)`."""

DEMO_FEED_ITEM_COUNT = 6
"""Number of <item> elements in the demo RSS file."""

MARKET_MAKER = "mm-bot"
"""Username of the account the demo market-maker bot quotes from (a bot account, see `BOTS`)."""

TAKERS = ("noise-1", "noise-2", "noise-3")
"""Usernames of the demo's random takers: they hit the market maker's quotes now and then, and
made the demo's recorded trades (and its dispute) before the demo "today"."""


@dataclass(frozen=True, slots=True)
class DemoUser:
    username: str
    display_name: str
    role: Role
    password: str
    starting_usdc_micro: int
    profile: str = ""
    expertise: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DemoBot:
    """An account the demo itself trades from. It has no password anyone knows and its login is
    disabled: the demo never acts as a login the README hands out (`USERS`)."""

    username: str
    display_name: str
    starting_usdc_micro: int


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One recorded lifecycle step of a market: who did what, when and why."""

    at_ms: int
    actor: str
    action: HistoryAction
    note: str
    bond_micro: int = 0


@dataclass(frozen=True, slots=True)
class Clarification:
    """A dated note added after opening; it explains the rules and never changes them."""

    at_ms: int
    author: str
    text: str


@dataclass(frozen=True, slots=True)
class Resolution:
    winning_outcome: str
    evidence_note: str
    evidence_link: str
    proposed_by: str
    proposed_ms: int
    settled_ms: int


@dataclass(frozen=True, slots=True)
class DemoMarket:
    slug: str
    question: str
    category: str
    tags: tuple[str, ...]
    kind: MarketKind
    outcomes: tuple[str, ...]
    description: str
    resolution_sources: tuple[str, ...]
    resolution_criteria: str
    ambiguity_rule: str
    postponement_rule: str
    cancellation_rule: str
    close_ms: int
    resolution_deadline_ms: int
    status: MarketStatus
    fair_yes_micro: tuple[int, ...]
    """Starting fair price of each outcome, aligned with `outcomes` (micro-USDC per share)."""
    history: tuple[HistoryEntry, ...]
    creator: str = "lena-hartmann"
    tick_micro: int = 10_000
    maker_fee_ppm: int = 500
    taker_fee_ppm: int = 1_000
    creator_share_ppm: int = 200_000
    clarifications: tuple[Clarification, ...] = ()
    resolution: Resolution | None = None
    void_yes_micro: int = 500_000
    # The creator's subsidy for the market's liquidity pool (open markets), in whole USDC: the
    # pool quotes from the first minute, its curve starting at `contract_fair_yes_micro`.
    subsidy_usdc: int = 60

    @property
    def contract_fair_yes_micro(self) -> tuple[int, ...]:
        """Fair YES price per order book: one book for a binary market, one per outcome otherwise."""
        if self.kind == "binary":
            return self.fair_yes_micro[:1]
        return self.fair_yes_micro


@dataclass(frozen=True, slots=True)
class NewsItem:
    slug: str
    title: str
    summary: str
    source: str
    link: str
    author: str
    published_ms: int
    kind: NewsKind
    tags: tuple[str, ...]
    market_slugs: tuple[str, ...]


# --- users --------------------------------------------------------------------------------------

SUPERVISOR = "ops"
CREATOR = "lena-hartmann"

USERS: tuple[DemoUser, ...] = (
    DemoUser(SUPERVISOR, "Foretell Ops", "supervisor", DEMO_PASSWORD, 0),
    DemoUser(
        CREATOR,
        "Lena Hartmann",
        "creator",
        DEMO_PASSWORD,
        _usdc(1_000),
        profile=(
            "Fictional demo analyst. Follows frontier AI labs and the money behind them: private "
            "rounds, listing plans, cloud and chip supply contracts, and how revenue figures are "
            "built. Writes markets with tight resolution wording and a named source for every fact."
        ),
        expertise=("ai labs", "venture and growth rounds", "ipos", "compute contracts", "revenue accounting"),
    ),
    DemoUser("ada-quant", "Ada (quant)", "trader", DEMO_PASSWORD, _usdc(10_000)),
    DemoUser("bruno-macro", "Bruno (macro)", "trader", DEMO_PASSWORD, _usdc(10_000)),
    DemoUser("chen-swing", "Chen (swing)", "trader", DEMO_PASSWORD, _usdc(10_000)),
)
"""The logins the README hands out. Nothing but the person logged in ever acts as them: they
start with cash only (no order, fill or position), and the demo's bots trade from `BOTS`."""

BOTS: tuple[DemoBot, ...] = (
    DemoBot(MARKET_MAKER, "Demo market maker (bot)", _usdc(250_000)),
    *(DemoBot(name, f"Demo taker {i} (bot)", _usdc(50_000)) for i, name in enumerate(TAKERS, 1)),
)


# --- markets ------------------------------------------------------------------------------------

_VOID = (
    "Voided (each share pays 0.50 USDC) only if a supervisor finds that the question cannot be "
    "answered under these rules; the reason is published with the decision."
)
_PRESS = ("Bloomberg", "Reuters", "Financial Times", "The Wall Street Journal", "The Information")
_TWO_OUTLETS = (
    "at least two of Bloomberg, Reuters, the Financial Times, The Wall Street Journal and "
    "The Information"
)


def _binary(yes_micro: int) -> tuple[int, int]:
    return (yes_micro, MICRO - yes_micro)


def _listed(drafted: str, submitted: str, approved: str) -> tuple[HistoryEntry, ...]:
    """The usual path of a market from draft to open, approved without changes."""
    return (
        HistoryEntry(_ms(drafted), CREATOR, "drafted", "Draft written from the May 2026 reporting."),
        HistoryEntry(_ms(submitted), CREATOR, "submitted", "Submitted for supervisor review."),
        HistoryEntry(
            _ms(approved), SUPERVISOR, "approved",
            "Question, sources, criteria, deadlines and edge-case rules checked; approved.",
        ),
        HistoryEntry(_ms(approved), SUPERVISOR, "opened", "Trading opened with the demo market maker."),
    )


_ROUND_BY_MAY = DemoMarket(
    slug="anthropic-round-900b-by-may-2026",
    question="Will Anthropic close a funding round valuing it at $900B or more by 31 May 2026?",
    category="Capital Markets",
    tags=("anthropic", "funding", "valuation", "private-markets"),
    kind="binary",
    outcomes=("Yes", "No"),
    description=(
        "In mid-May 2026 Bloomberg reported that Anthropic was negotiating a raise of at least "
        "$30B that would value the Claude maker above $900B, ahead of the $852B OpenAI was valued "
        "at in March. Sources pointed to a close as soon as late May, but no term sheet had been "
        "signed at the time. This market asked whether the deal would actually be done by the end "
        "of that month."
    ),
    resolution_sources=("Anthropic press releases and official blog", *_PRESS[:4]),
    resolution_criteria=(
        "Resolves Yes if Anthropic completes an equity funding round at a post-money valuation of "
        "at least $900,000,000,000 with a closing date on or before 31 May 2026 (UTC), as confirmed "
        "by an official Anthropic announcement or by at least two of Bloomberg, Reuters, the "
        "Financial Times and The Wall Street Journal reporting the round as closed, published by "
        "the resolution deadline. Talks, signed term "
        "sheets, investor commitments and reports of oversubscription do not count as a close. "
        "Otherwise resolves No."
    ),
    ambiguity_rule=(
        "If sources disagree on the valuation, Anthropic's own figure prevails; if it gives none, "
        "the lowest post-money figure reported by a listed outlet is used, and a range counts at "
        "its lower end. A pre-money figure is converted to post-money by adding the new money raised."
    ),
    postponement_rule=(
        "The date is fixed: if the close slips past 31 May 2026 the market resolves No, even if "
        "the round completes shortly afterwards on the same terms."
    ),
    cancellation_rule=(
        "If the talks are abandoned, or Anthropic is acquired or merged before a close, the market "
        "resolves No. " + _VOID
    ),
    close_ms=_ms("2026-05-31T23:59:59Z"),
    resolution_deadline_ms=_ms("2026-06-14T23:59:59Z"),
    status="settled",
    fair_yes_micro=_binary(350_000),
    history=(
        *_listed("2026-05-13T12:20:00Z", "2026-05-13T12:35:00Z", "2026-05-13T14:00:00Z"),
        HistoryEntry(_ms("2026-05-31T23:59:59Z"), SUPERVISOR, "closed", "Close time reached."),
        HistoryEntry(
            _ms("2026-06-01T09:00:00Z"), CREATOR, "resolution_proposed",
            "Proposed No: by the deadline there was neither a company announcement nor a "
            "two-outlet report of a completed round at $900B or more; coverage still described "
            "negotiations. Demo data.",
        ),
        HistoryEntry(
            _ms("2026-06-01T15:30:00Z"), TAKERS[1], "disputed",
            "Argues that reports of investors committing money before 31 May show the round was "
            "effectively done, so the answer should be Yes.",
            bond_micro=_usdc(100),
        ),
        HistoryEntry(
            _ms("2026-06-02T10:00:00Z"), SUPERVISOR, "dispute_rejected",
            "Rejected: the criteria name commitments and term sheets as not counting, and no "
            "qualifying confirmation of a completed round dated on or before 31 May exists.",
        ),
        HistoryEntry(
            _ms("2026-06-02T10:05:00Z"), SUPERVISOR, "settled",
            "Settled No: each No share paid 1 USDC, each Yes share 0.",
        ),
    ),
    resolution=Resolution(
        winning_outcome="No",
        evidence_note=(
            "DEMO DATA, a fictional resolution for the Foretell demo and not a record of real "
            "events. The creator checked Anthropic's newsroom and the listed outlets up to the "
            "deadline and found only reports of ongoing talks, no confirmed close; the dispute "
            "relied on commitment reports, which the criteria exclude."
        ),
        evidence_link="https://foretell.local/evidence/anthropic-round-900b-by-may-2026",
        proposed_by=CREATOR,
        proposed_ms=_ms("2026-06-01T09:00:00Z"),
        settled_ms=_ms("2026-06-02T10:05:00Z"),
    ),
)

_IPO_BY_JUNE = DemoMarket(
    slug="anthropic-ipo-by-jun-2027",
    question="Will Anthropic shares start trading on a US stock exchange by 30 June 2027?",
    category="Capital Markets",
    tags=("anthropic", "ipo", "listing"),
    kind="binary",
    outcomes=("Yes", "No"),
    description=(
        "Anthropic has been reported to be aiming for a public debut some time from October 2026 "
        "through the first six months of 2027, with Goldman Sachs, JPMorgan Chase and Morgan "
        "Stanley said to be in talks about the deal. A listing would be the first public-market "
        "price for a frontier AI lab. This market asks whether the first trade happens by the end "
        "of June 2027."
    ),
    resolution_sources=(
        "NYSE and Nasdaq listing notices",
        "SEC EDGAR filings (Form S-1, final 424(b) prospectus)",
        "Anthropic press releases",
        "Bloomberg",
        "Reuters",
    ),
    resolution_criteria=(
        "Resolves Yes if common shares of Anthropic PBC, or of a holding company whose main asset "
        "is Anthropic, complete their first regular-session trade on the NYSE or Nasdaq on or "
        "before 30 June 2027 (New York time), whether through an IPO, a direct listing or a merger "
        "with a listed blank-check company. Filing a registration statement, confidential or "
        "public, or announcing a price range does not count. Otherwise resolves No."
    ),
    ambiguity_rule=(
        "If sources disagree on the first trading date, the exchange's own notice decides. A "
        "listing only outside the US does not count; a US listing of depositary shares does."
    ),
    postponement_rule=(
        "If the offering is delayed, paused or withdrawn and no share trades by 30 June 2027, the "
        "market resolves No; the deadline is not extended."
    ),
    cancellation_rule=(
        "If Anthropic is acquired by an operating company before its own shares list, the market "
        "resolves No. " + _VOID
    ),
    close_ms=_ms("2027-06-30T23:59:59Z"),
    resolution_deadline_ms=_ms("2027-07-15T23:59:59Z"),
    status="open",
    fair_yes_micro=_binary(450_000),
    history=_listed("2026-05-13T12:40:00Z", "2026-05-13T12:55:00Z", "2026-05-13T14:10:00Z"),
    clarifications=(
        Clarification(
            _ms("2026-08-03T09:00:00Z"), CREATOR,
            "Traders asked about draft filings: a confidential draft registration statement sent "
            "to the SEC does not count, only the first exchange trade does. The criteria are "
            "unchanged.",
        ),
    ),
)

_IPO_TIMING = DemoMarket(
    slug="anthropic-ipo-pricing-window",
    question="When will Anthropic's IPO price?",
    category="Capital Markets",
    tags=("anthropic", "ipo", "timing"),
    kind="categorical",
    outcomes=("Q4 2026 or earlier", "H1 2027", "H2 2027", "Later or never"),
    description=(
        "Bankers have reportedly discussed a debut as early as October 2026, and the window in the "
        "reporting runs into mid-2027. Splitting the timing into buckets lets traders price delay "
        "itself rather than a single yes-or-no date. Exactly one bucket wins."
    ),
    resolution_sources=(
        "SEC EDGAR (final 424(b) prospectus)",
        "Anthropic pricing announcement",
        "NYSE and Nasdaq listing notices",
        "Bloomberg",
        "Reuters",
    ),
    resolution_criteria=(
        "Resolves to the bucket containing the pricing date of Anthropic's IPO: the New York "
        "calendar date on which the offering price is set, as shown in the final prospectus or the "
        "company's pricing announcement. For a direct listing or a merger with a listed "
        "blank-check company, the date of the first regular-session trade is used. Buckets: "
        "'Q4 2026 or earlier' = on or before 31 Dec 2026; 'H1 2027' = 1 Jan to 30 Jun 2027; "
        "'H2 2027' = 1 Jul to 31 Dec 2027; 'Later or never' = no pricing by 31 Dec 2027. A "
        "supervisor halts trading when a pricing is announced."
    ),
    ambiguity_rule=(
        "If the prospectus and press reports give different dates, the prospectus prevails. A "
        "price set after the New York close is dated by the New York day on which it was set."
    ),
    postponement_rule=(
        "A pricing that is announced and then pulled before any share trades is ignored and "
        "trading resumes; only an offering that goes on to trade counts."
    ),
    cancellation_rule=(
        "If Anthropic is acquired before its own shares list, or nothing prices by 31 Dec 2027, "
        "the market resolves to 'Later or never'. Voided (each YES share pays 0.25 USDC and "
        "each NO share 0.75 USDC, so one YES of every bucket still pays 1 USDC) only if a "
        "supervisor finds that the question cannot be answered under these rules; the reason "
        "is published with the decision."
    ),
    close_ms=_ms("2027-12-31T23:59:59Z"),
    resolution_deadline_ms=_ms("2028-01-31T23:59:59Z"),
    status="open",
    fair_yes_micro=(50_000, 400_000, 300_000, 250_000),
    tick_micro=1_000,
    void_yes_micro=250_000,
    subsidy_usdc=400,
    history=_listed("2026-05-13T13:00:00Z", "2026-05-13T13:10:00Z", "2026-05-13T14:20:00Z"),
)

_FIRST_CLOSE = DemoMarket(
    slug="anthropic-first-close-above-500b",
    question=(
        "Will Anthropic list by the end of 2027 and finish its first trading day worth more than $500B?"
    ),
    category="Capital Markets",
    tags=("anthropic", "ipo", "valuation", "market-cap"),
    kind="binary",
    outcomes=("Yes", "No"),
    description=(
        "Bankers' private estimates reportedly put a public valuation between $400B and $500B, far "
        "below the $900B-plus discussed for the private round in May 2026. A first-day close above "
        "the top of that range would mean public buyers meet the private marks more than halfway."
    ),
    resolution_sources=(
        "SEC EDGAR (final 424(b) prospectus)",
        "NYSE or Nasdaq official closing price",
        "Bloomberg",
        "Reuters",
    ),
    resolution_criteria=(
        "Resolves Yes if Anthropic's shares begin trading on the NYSE or Nasdaq on or before "
        "31 December 2027 and its market capitalization at the official close of the first trading "
        "day is greater than $500,000,000,000, computed as the official closing price times the "
        "total shares outstanding of all classes right after the offering, as stated in the final "
        "prospectus (options, RSUs and warrants excluded). Resolves No if that value is $500B or "
        "less, or if there is no such listing by the deadline."
    ),
    ambiguity_rule=(
        "If the prospectus share count is unclear, for example with several share classes, the "
        "supervisor uses the total outstanding count published by the exchange or, failing that, "
        "by Bloomberg or Reuters, and publishes the calculation with the resolution."
    ),
    postponement_rule=(
        "A listing after 31 December 2027 does not count and the market resolves No. If trading on "
        "the first day is halted before an official close, the first official close is used."
    ),
    cancellation_rule="If Anthropic is acquired before it lists, the market resolves No. " + _VOID,
    close_ms=_ms("2027-12-31T23:59:59Z"),
    resolution_deadline_ms=_ms("2028-01-31T23:59:59Z"),
    status="open",
    fair_yes_micro=_binary(300_000),
    history=_listed("2026-05-13T13:20:00Z", "2026-05-13T13:30:00Z", "2026-05-13T14:30:00Z"),
)

_PROFIT_2028 = DemoMarket(
    slug="anthropic-profitable-fy2028",
    question="Will Anthropic report positive net income for fiscal year 2028?",
    category="Capital Markets",
    tags=("anthropic", "profitability", "compute", "earnings"),
    kind="binary",
    outcomes=("Yes", "No"),
    description=(
        "Anthropic was described in May 2026 as loss-making, with break-even not expected before "
        "2028. Its 2026 compute budget, covering both training and inference, was about $19B, close to "
        "its annual revenue, so a profit depends on revenue outrunning large prepaid compute "
        "commitments."
    ),
    resolution_sources=(
        "SEC EDGAR (Form 10-K or Form S-1)",
        "Anthropic audited financial statements, if published while private",
        "Anthropic investor relations",
    ),
    resolution_criteria=(
        "Resolves Yes if, by 30 June 2029, Anthropic publishes full-year results for fiscal year "
        "2028 showing net income above zero under US GAAP (or IFRS, if that is the basis of its "
        "audited accounts), in an annual report filed with the SEC or, if still private, in audited "
        "financial statements it makes public. Adjusted, non-GAAP, operating-only and cash-flow "
        "measures do not count. Resolves No if reported net income is zero or negative, or if no "
        "such results are published by the deadline."
    ),
    ambiguity_rule=(
        "If the fiscal year is not the calendar year, the fiscal year ending in calendar 2028 is "
        "used. If results are restated before the deadline, the latest figure published by the "
        "deadline is used."
    ),
    postponement_rule=(
        "Results first published after 30 June 2029 do not count; the market resolves No and the "
        "deadline is not extended."
    ),
    cancellation_rule=(
        "If Anthropic is acquired and no standalone audited results for fiscal 2028 are published "
        "by the deadline, the market resolves No. " + _VOID
    ),
    close_ms=_ms("2028-12-31T23:59:59Z"),
    resolution_deadline_ms=_ms("2029-06-30T23:59:59Z"),
    status="open",
    fair_yes_micro=_binary(250_000),
    history=_listed("2026-05-13T15:00:00Z", "2026-05-13T15:15:00Z", "2026-05-13T17:00:00Z"),
)

_RUN_RATE = DemoMarket(
    slug="anthropic-run-rate-50b-by-jun-2027",
    question="Will Anthropic's annualized revenue reach $50B by 30 June 2027?",
    category="AI & Tech",
    tags=("anthropic", "revenue", "run-rate", "accounting"),
    kind="binary",
    outcomes=("Yes", "No"),
    description=(
        "Anthropic's run-rate was reported at about $30B at the end of March 2026, up from roughly "
        "$1B in December 2024. OpenAI argues that the figure counts sales through cloud "
        "marketplaces at their gross value, and that net of the cloud providers' cut it is nearer "
        "$22B. This market settles on the company's own stated figure, so the gross-versus-net "
        "question is part of what is being priced."
    ),
    resolution_sources=("Anthropic announcements and executive statements on the record", "SEC EDGAR", *_PRESS),
    resolution_criteria=(
        "Resolves Yes if an annualized revenue (run-rate) of at least $50,000,000,000 for a point "
        "in time on or before 30 June 2027 is stated by Anthropic (official announcement, "
        "on-the-record executive statement or SEC filing), or reported by " + _TWO_OUTLETS + " "
        "citing company figures, in either case published by 31 July 2027. The figure counts on "
        "whatever basis, gross or net, the source uses. Otherwise resolves No."
    ),
    ambiguity_rule=(
        "Bookings, backlog, contracted or projected revenue do not count. If a filing gives only "
        "quarterly revenue, four times the latest quarter ending on or before 30 June 2027 is used."
    ),
    postponement_rule=(
        "Statements published after 31 July 2027 do not count, even about earlier periods; the "
        "deadline is not extended."
    ),
    cancellation_rule=(
        "If Anthropic is acquired, disclosed figures for the Anthropic business still count; "
        "without any, the market resolves No. " + _VOID
    ),
    close_ms=_ms("2027-06-30T23:59:59Z"),
    resolution_deadline_ms=_ms("2027-07-31T23:59:59Z"),
    status="open",
    fair_yes_micro=_binary(500_000),
    history=_listed("2026-05-13T15:30:00Z", "2026-05-13T15:40:00Z", "2026-05-13T17:10:00Z"),
)

_MARGIN = DemoMarket(
    slug="anthropic-gross-margin-50pct-2027",
    question="Will Anthropic disclose a gross margin of 50% or more for a period in 2027?",
    category="AI & Tech",
    tags=("anthropic", "margins", "compute", "inference"),
    kind="binary",
    outcomes=("Yes", "No"),
    description=(
        "Inference was reported to be costing 23% more than planned in 2026, holding Anthropic's "
        "gross margin to about 40%, low for an enterprise software business. Supply deals spread "
        "across several clouds and chip makers could bring unit costs down over time. The market "
        "asks whether a disclosed margin reaches 50% for any period in 2027."
    ),
    resolution_sources=("SEC EDGAR (Form S-1, 10-Q, 10-K)", "Anthropic official statements", *_PRESS),
    resolution_criteria=(
        "Resolves Yes if, by 31 March 2028, Anthropic discloses in an SEC filing or official "
        "statement a gross margin of at least 50.0% for any fiscal quarter or fiscal year ending "
        "in calendar 2027, or if " + _TWO_OUTLETS + " report such a margin citing company "
        "documents. Otherwise resolves No."
    ),
    ambiguity_rule=(
        "If both GAAP and adjusted gross margins are given, the GAAP figure decides. A margin that "
        "is not stated directly is computed as (revenue - cost of revenue) / revenue from the same "
        "filing and rounded to one decimal place."
    ),
    postponement_rule=(
        "Disclosures published after 31 March 2028 do not count; the deadline is not extended."
    ),
    cancellation_rule=(
        "If Anthropic is acquired and no qualifying figure is disclosed by the deadline, the market "
        "resolves No. " + _VOID
    ),
    close_ms=_ms("2028-03-31T23:59:59Z"),
    resolution_deadline_ms=_ms("2028-04-30T23:59:59Z"),
    status="open",
    fair_yes_micro=_binary(300_000),
    history=_listed("2026-05-14T08:00:00Z", "2026-05-14T08:20:00Z", "2026-05-14T10:00:00Z"),
)

_OPENAI_1T = DemoMarket(
    slug="openai-valuation-1t-by-jun-2027",
    question="Will OpenAI be valued at $1 trillion or more in a completed deal by 30 June 2027?",
    category="AI & Tech",
    tags=("openai", "valuation", "funding"),
    kind="binary",
    outcomes=("Yes", "No"),
    description=(
        "OpenAI's last private mark before the Anthropic talks surfaced was $852B, set in March "
        "2026. If Anthropic prices a round above $900B, the two labs are in a race for the title "
        "of most valuable private AI company, and a deal at $1T would put OpenAI back in front."
    ),
    resolution_sources=("OpenAI announcements", *_PRESS, "SEC EDGAR, if OpenAI lists"),
    resolution_criteria=(
        "Resolves Yes if, with a closing date on or before 30 June 2027, OpenAI completes a primary "
        "funding round or a company-organized tender or secondary share sale at a valuation of at "
        "least $1,000,000,000,000, as confirmed by OpenAI or by " + _TWO_OUTLETS + "; or if "
        "OpenAI's shares list and its market capitalization at the first day's official close is at "
        "least $1T. Talks, term sheets and funds' own marks of their holdings do not count. "
        "Otherwise resolves No."
    ),
    ambiguity_rule=(
        "Where sources disagree, OpenAI's own figure prevails, otherwise the lowest qualifying "
        "reported valuation. The valuation must be of the OpenAI group as a whole, not of one "
        "subsidiary or affiliate."
    ),
    postponement_rule="A closing after 30 June 2027 resolves No, even if the deal was agreed earlier.",
    cancellation_rule=(
        "A restructuring or change of legal form does not void the market; deals of the successor "
        "entity count. " + _VOID
    ),
    close_ms=_ms("2027-06-30T23:59:59Z"),
    resolution_deadline_ms=_ms("2027-07-31T23:59:59Z"),
    status="open",
    fair_yes_micro=_binary(455_000),
    tick_micro=1_000,
    history=_listed("2026-05-13T16:00:00Z", "2026-05-13T16:10:00Z", "2026-05-13T17:20:00Z"),
)

_CLARITY = DemoMarket(
    slug="clarity-act-law-by-2026",
    question="Will the CLARITY Act be signed into law by 31 December 2026?",
    category="Crypto & Policy",
    tags=("crypto", "regulation", "clarity-act", "congress"),
    kind="binary",
    outcomes=("Yes", "No"),
    description=(
        "The Digital Asset Market Clarity Act would give the US a federal market-structure "
        "framework for crypto assets. In May 2026 Bitwise's chief investment officer put the odds "
        "of it passing this year at roughly 30% to 55%, and said the open question was keeping "
        "institutional money out of crypto. The market asks whether it becomes law before 2027."
    ),
    resolution_sources=("Congress.gov bill status and public law listing", "The White House", "Reuters", "Bloomberg"),
    resolution_criteria=(
        "Resolves Yes if the Digital Asset Market Clarity Act (CLARITY Act) becomes US federal law "
        "with an enactment date on or before 31 December 2026 as shown on Congress.gov. Signature "
        "by the President counts, and so do enactment without signature under the ten-day rule and "
        "a veto override. A law passed under another name counts only if its text or the "
        "Congress.gov summary shows it includes the CLARITY Act's market-structure provisions. "
        "Passage by one or both chambers alone does not count. Otherwise resolves No."
    ),
    ambiguity_rule=(
        "If it is unclear whether an enacted law contains the CLARITY Act, the supervisor decides "
        "from the enacted text and the official Congress.gov summary and publishes the reasoning."
    ),
    postponement_rule=(
        "If the bill has cleared Congress but is not law on 31 December 2026, the market resolves "
        "No; the deadline is not extended."
    ),
    cancellation_rule=(
        "If the bill is withdrawn, or vetoed without a successful override by the deadline, the "
        "market resolves No. " + _VOID
    ),
    close_ms=_ms("2026-12-31T23:59:59Z"),
    resolution_deadline_ms=_ms("2027-01-15T23:59:59Z"),
    status="open",
    fair_yes_micro=_binary(220_000),
    history=_listed("2026-05-13T12:10:00Z", "2026-05-13T12:15:00Z", "2026-05-13T13:50:00Z"),
)

_CLAUDE_CODE = DemoMarket(
    slug="claude-code-run-rate-10b-by-jun-2027",
    question="Will Claude Code reach a $10B annualized revenue run-rate by 30 June 2027?",
    category="AI & Tech",
    tags=("anthropic", "claude-code", "coding-agents", "revenue", "openai"),
    kind="binary",
    outcomes=("Yes", "No"),
    description=(
        "Claude Code, Anthropic's coding assistant released in May 2025, was reported at a $2.5B "
        "run-rate by February 2026. OpenAI's answer, Codex, is being built into the ChatGPT app "
        "and has 5 million weekly users. This draft asks whether Claude Code on its own grows to "
        "four times that run-rate by mid-2027."
    ),
    resolution_sources=("Anthropic announcements and executive statements on the record", "SEC EDGAR", *_PRESS),
    resolution_criteria=(
        "Resolves Yes if a run-rate of at least $10,000,000,000 attributed to Claude Code "
        "specifically, for a point in time on or before 30 June 2027, is stated by Anthropic "
        "(official announcement, on-the-record executive statement or SEC filing) or reported by "
        + _TWO_OUTLETS + " citing company figures, in either case published by 31 July 2027. "
        "Otherwise resolves No."
    ),
    ambiguity_rule=(
        "Revenue from bundles, such as Claude plans that include Claude Code, counts only to the "
        "extent the source attributes it to Claude Code. Usage metrics (seats, users, tokens) do "
        "not count."
    ),
    postponement_rule="Statements published after 31 July 2027 do not count; the deadline is not extended.",
    cancellation_rule=(
        "If Claude Code is renamed or merged into another Anthropic product, figures the source "
        "attributes to its successor count. " + _VOID
    ),
    close_ms=_ms("2027-06-30T23:59:59Z"),
    resolution_deadline_ms=_ms("2027-07-31T23:59:59Z"),
    status="in_review",
    fair_yes_micro=_binary(300_000),
    history=(
        HistoryEntry(_ms("2026-11-20T09:10:00Z"), CREATOR, "drafted", "Draft written."),
        HistoryEntry(_ms("2026-11-20T09:40:00Z"), CREATOR, "submitted", "Submitted for supervisor review."),
        HistoryEntry(
            _ms("2026-11-21T14:00:00Z"), SUPERVISOR, "changes_requested",
            "Say how revenue from bundled subscriptions is attributed before this can open.",
        ),
        HistoryEntry(
            _ms("2026-11-23T10:30:00Z"), CREATOR, "resubmitted",
            "Added the bundle attribution rule and excluded usage metrics.",
        ),
    ),
)

MARKETS: tuple[DemoMarket, ...] = (
    _ROUND_BY_MAY,
    _IPO_BY_JUNE,
    _IPO_TIMING,
    _FIRST_CLOSE,
    _PROFIT_2028,
    _RUN_RATE,
    _MARGIN,
    _OPENAI_1T,
    _CLARITY,
    _CLAUDE_CODE,
)


# --- news ---------------------------------------------------------------------------------------

_DESK = "Foretell Desk"
_MARSBIT = "MarsBit"


def _link(slug: str) -> str:
    return f"https://foretell.local/news/{slug}"


def _news(
    slug: str, title: str, summary: str, source: str, author: str, published: str,
    kind: NewsKind, tags: tuple[str, ...], market_slugs: tuple[str, ...],
) -> NewsItem:
    return NewsItem(slug, title, summary, source, _link(slug), author, _ms(published), kind, tags, market_slugs)


NEWS: tuple[NewsItem, ...] = (
    # The seed article, split into desk write-ups across the morning of 2026-05-13.
    _news(
        "anthropic-funding-talks-900b",
        "Anthropic weighs a raise of $30B or more at a valuation above $900B",
        "Anthropic is in preliminary discussions with investors about raising at least $30B at a "
        "price north of $900B, Bloomberg reported, citing people familiar with the matter. That "
        "would leapfrog the $852B valuation OpenAI secured in March. A close could come as soon as "
        "late May, though terms were still open and nothing had been signed.",
        _DESK, _DESK, "2026-05-13T06:10:00Z", "report",
        ("anthropic", "funding", "valuation", "openai"),
        (_ROUND_BY_MAY.slug, _OPENAI_1T.slug, _FIRST_CLOSE.slug),
    ),
    _news(
        "openai-questions-anthropic-run-rate",
        "Gross or net? OpenAI questions how Anthropic counts its $30B run-rate",
        "Anthropic's annualized revenue reportedly climbed from about $1B in December 2024 to "
        "roughly $30B by the end of March 2026. OpenAI contends the headline number books the full "
        "value of sales made through Amazon Web Services and Google Cloud and then lists the cloud "
        "providers' share as a cost. Netting that out, OpenAI puts the figure nearer $22B, and the "
        "$8B difference is likely to draw scrutiny if Anthropic files to go public.",
        _DESK, _DESK, "2026-05-13T06:40:00Z", "report",
        ("anthropic", "revenue", "accounting", "openai"),
        (_RUN_RATE.slug, _IPO_BY_JUNE.slug),
    ),
    _news(
        "anthropic-compute-bill-margin",
        "A compute bill near $19B leaves Anthropic's gross margin around 40%",
        "Documents cited in the coverage show Anthropic budgeting about $19B for compute in 2026, "
        "split between training and inference, roughly equal to a full year of revenue. Inference has cost "
        "23% more than planned, which keeps gross margin near 40%, well under what established "
        "software vendors earn. The company still loses money and is not expected to break even "
        "before 2028.",
        _DESK, _DESK, "2026-05-13T07:15:00Z", "report",
        ("anthropic", "compute", "margins", "profitability"),
        (_MARGIN.slug, _PROFIT_2028.slug),
    ),
    _news(
        "early-backers-sit-out",
        "Early Anthropic investors reportedly pass on the new round",
        "Forbes reported that several early backers, including funds that bought in at a $4.1B "
        "valuation in 2023 or at $61.5B in March 2025, have shown little appetite for the latest "
        "raise. Their caution mirrors bankers' private view that a listing could value the company "
        "well below the $900B now on the table, which would leave the last private buyers with a "
        "paper loss before they are even allowed to sell.",
        _DESK, _DESK, "2026-05-13T07:50:00Z", "report",
        ("anthropic", "funding", "investors", "valuation"),
        (_ROUND_BY_MAY.slug, _FIRST_CLOSE.slug),
    ),
    _news(
        "ipo-window-bankers-range",
        "Anthropic eyes a listing from October 2026; bankers see $400B to $500B",
        "If the new funding goes through, Anthropic is expected to aim for a stock market debut "
        "some time from October 2026 through the first six months of 2027, with Goldman Sachs, "
        "JPMorgan Chase and Morgan Stanley reported to be in talks about the deal. Bankers "
        "privately put a public valuation at $400B to $500B, about half the private price under "
        "negotiation. A listing below the last private round would be a rare inversion in tech.",
        _DESK, _DESK, "2026-05-13T08:30:00Z", "report",
        ("anthropic", "ipo", "valuation", "banks"),
        (_IPO_BY_JUNE.slug, _IPO_TIMING.slug, _FIRST_CLOSE.slug),
    ),
    _news(
        "rao-compute-diversification",
        "How CFO Krishna Rao spread Anthropic's compute across three clouds",
        "According to The Information, finance chief Krishna Rao moved Anthropic off its near-total "
        "reliance on Google for compute, arguing that several suppliers would let it grow faster. "
        "The company now has deep agreements with Amazon, Google and Microsoft and runs on NVIDIA "
        "GPUs, Google TPUs and Amazon's own chips. Late-2025 deals committed $30B to Microsoft "
        "cloud capacity and secured up to a million TPUs, and April 2026 agreements with Broadcom "
        "and Google reserved several gigawatts of data-center power.",
        _DESK, _DESK, "2026-05-13T09:10:00Z", "report",
        ("anthropic", "compute", "cloud", "chips"),
        (_MARGIN.slug, _PROFIT_2028.slug),
    ),
    _news(
        "claude-code-2-5b-run-rate",
        "Claude Code passed a $2.5B run-rate within a year of launch",
        "Anthropic's coding assistant, released in May 2025, was bringing in about $2.5B a year by "
        "February 2026, and enterprise subscriptions grew fourfold over the opening six weeks of "
        "2026. Across the business, eight of the ten largest Fortune Global 500 companies use "
        "Claude, and more than 1,000 enterprise accounts spend over $1M a year on it.",
        _DESK, _DESK, "2026-05-13T09:45:00Z", "report",
        ("anthropic", "claude-code", "coding-agents", "revenue"),
        (_CLAUDE_CODE.slug, _RUN_RATE.slug),
    ),
    _news(
        "valuation-math-30x-sales",
        "A $900B tag is about 30 times sales: what buyers are betting on",
        "Against a $30B run-rate, a $900B valuation is roughly 30 times revenue, a multiple that "
        "only holds up if Anthropic keeps growing around tenfold a year through 2028. Its value has "
        "risen about fifteenfold in 14 months and stood at $380B at the start of 2026. Chief "
        "executive Dario Amodei has told Fortune that a one-year delay in AI progress could sink "
        "the company, and Michael Burry has again warned of a bubble in tech and chip stocks.",
        _DESK, _DESK, "2026-05-13T10:20:00Z", "report",
        ("anthropic", "valuation", "bubble", "funding"),
        (_ROUND_BY_MAY.slug, _FIRST_CLOSE.slug, _OPENAI_1T.slug),
    ),
    # The related reads, published by MarsBit within the hour before noon that day.
    _news(
        "codex-folds-into-chatgpt",
        "OpenAI to build Codex into ChatGPT as weekly users reach 5 million",
        "At its 'Intelligence at Work' event OpenAI said its Codex coding agent will move into the "
        "ChatGPT app within weeks, a first step toward one agent platform that also takes in the "
        "Atlas browser. Codex, launched to compete with Claude Code, has 5 million weekly active "
        "users, a fifth of them not developers, and gained role-specific agent plugins plus "
        "'Annotations' and 'Sites' features. MarsBit argues it wins on price and reach more than "
        "on raw coding quality.",
        _MARSBIT, "MarsBit staff", "2026-05-13T10:58:00Z", "report",
        ("openai", "codex", "coding-agents", "claude-code"),
        (_CLAUDE_CODE.slug, _OPENAI_1T.slug),
    ),
    _news(
        "bitwise-contrarian-crypto",
        "Bitwise's Matt Hougan: crypto has become a contrarian trade",
        "Bitwise's chief investment officer argues crypto has turned from a momentum trade into a "
        "contrarian one, with Bitcoin and Ether well down as money chases AI. He names the "
        "uncertain fate of the US CLARITY Act as the main drag, with estimates of passage this year "
        "between about 30% and 55%, and says a clear answer either way matters more than which "
        "answer. Money is rotating into smaller tokens with real use: Hyperliquid rose 72%, Zcash "
        "50% and XLM 44% while the majors fell.",
        _MARSBIT, "MarsBit staff", "2026-05-13T11:02:00Z", "report",
        ("crypto", "regulation", "clarity-act", "markets"),
        (_CLARITY.slug,),
    ),
    _news(
        "outpoll-review-active-traders",
        "Review: Outpoll pitches a prediction market built for active traders",
        "MarsBit looks at Outpoll, a new global prediction-market venue that settles fully "
        "collateralized contracts in USDC and charges 0.1% per trade. Its pitch is tooling that is "
        "rare in the sector: limit and market orders, take-profit and stop-loss on open positions, "
        "REST and WebSocket APIs for bots, markets run by approved creators under platform "
        "oversight, and a news feed beside the order screen. It launched on Android, with iOS "
        "planned later in the year.",
        _MARSBIT, "MarsBit staff", "2026-05-13T11:30:00Z", "report",
        ("prediction-markets", "trading-tools", "fees", "creators"),
        (),
    ),
    _news(
        "deai-compute-geopolitics",
        "Chip curbs and nuclear-powered data centers revive the case for decentralized AI",
        "A MarsBit essay says the contest for compute has turned geopolitical: in May 2026 the US "
        "tightened export controls by shutting a route Chinese firms used to buy advanced NVIDIA "
        "chips through overseas subsidiaries, Kenya put a $1B geothermal data-center plan linked to Microsoft on hold over "
        "its power needs, and Huawei moved its Ascend AI chips into volume output. With four US tech "
        "giants planning about $750B of AI capex in 2026, the author argues for open, "
        "blockchain-coordinated networks of idle GPUs (DeAI) as a check on concentration, while "
        "granting that they still trail on performance.",
        _MARSBIT, "MarsBit staff", "2026-05-13T11:38:00Z", "report",
        ("compute", "deai", "export-controls", "energy", "crypto"),
        (_MARGIN.slug, _PROFIT_2028.slug),
    ),
    # Later desk analysis: commentary on the markets, reporting no new events.
    _news(
        "analysis-s1-checklist",
        "Analysis: five numbers to read first if Anthropic files an S-1",
        "Analysis, not news; no new events are reported here. If a registration statement appears, "
        "start with how cloud-marketplace sales are booked (gross or net), the gross margin after "
        "inference, the size and timing of compute purchase commitments, the share count behind any "
        "valuation, and the route to the 2028 break-even reported in May. Each maps to an open "
        "Foretell market.",
        _DESK, "Lena Hartmann", "2026-07-20T13:00:00Z", "analysis",
        ("anthropic", "ipo", "accounting", "analysis"),
        (_IPO_BY_JUNE.slug, _RUN_RATE.slug, _MARGIN.slug, _PROFIT_2028.slug, _FIRST_CLOSE.slug),
    ),
    _news(
        "analysis-ipo-timing-buckets",
        "Analysis: reading the IPO-timing buckets as the October window opens",
        "Analysis, not news. The bucket market prices when Anthropic's offering sets its price, not "
        "whether it does, so its four prices should add up to about 1 USDC; the gap is what it "
        "costs to hold every bucket. The listing-by-June-2027 market should trade close to the sum "
        "of the first two buckets, give or take the day between pricing and the first trade.",
        _DESK, "Lena Hartmann", "2026-09-15T12:00:00Z", "analysis",
        ("anthropic", "ipo", "timing", "analysis"),
        (_IPO_TIMING.slug, _IPO_BY_JUNE.slug),
    ),
    _news(
        "analysis-clarity-act-calendar",
        "Analysis: with weeks left, the CLARITY Act market is a question of floor time",
        "Analysis, not news; no new legislative event is reported here. With the 31 December 2026 "
        "deadline close, a Yes needs both chambers to agree on one text and the bill to become law "
        "before year-end, which leaves little room for slippage. Because the rules count only "
        "enactment, headlines about committee votes or passage in one chamber should move the "
        "price less than they seem to.",
        _DESK, "Lena Hartmann", "2026-11-10T15:00:00Z", "analysis",
        ("crypto", "regulation", "clarity-act", "analysis"),
        (_CLARITY.slug,),
    ),
    _news(
        "analysis-private-vs-public-mark",
        "Analysis: the $500B line tests the gap between private and public pricing",
        "Analysis, not news. Our first-day value contract sits at the top of the bankers' reported "
        "$400B to $500B range, so Yes means public buyers paid more than the banks expected, yet "
        "still less than the $900B-plus figure from the May talks. Read alongside the OpenAI $1T "
        "market, it is a rough gauge of whether public investors accept private AI marks or cut "
        "them down.",
        _DESK, "Lena Hartmann", "2026-11-24T16:00:00Z", "analysis",
        ("anthropic", "openai", "valuation", "analysis"),
        (_FIRST_CLOSE.slug, _OPENAI_1T.slug),
    ),
)
