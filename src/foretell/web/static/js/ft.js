/* Foretell web core: formatting, the public-API client, the session, the WebSocket, and the
 * htmx extension "ft" that lets htmx talk to the JSON API.
 *
 * Units: the API sends prices ("0.57") and amounts ("12.500000") as decimal strings. They are
 * parsed here to integers of micro-USDC (BigInt for amounts, Number for prices, which never
 * exceed 1_000_000) and formatted from those integers, so no float ever touches money.
 * Display conventions, used on every page: prices in cents ("57¢"), amounts in dollars of USDC
 * with thousands separators ("$1,234.50"), sizes as whole shares ("1,200"), times in the
 * browser's local time with its time zone.
 */
(function () {
  "use strict";
  const FT = (window.FT = window.FT || {});
  const MICRO = 1000000;
  const MICRO_N = 1000000n;

  // -- units ---------------------------------------------------------------------------------

  const DECIMAL = /^(-)?(\d{1,15})(?:\.(\d{1,6}))?$/;

  /** "12.5" -> 12500000n (BigInt micro-USDC); null for anything else. */
  function microBig(text) {
    if (text === null || text === undefined) return null;
    const m = DECIMAL.exec(String(text).trim());
    if (!m) return null;
    const value = BigInt(m[2]) * MICRO_N + BigInt((m[3] || "").padEnd(6, "0"));
    return m[1] ? -value : value;
  }

  /** A price string "0.57" -> 570000 (Number; prices are at most 1_000_000). */
  function priceMicro(text) {
    const v = microBig(text);
    return v === null ? null : Number(v);
  }

  /** 570000 -> "0.57": the API's decimal form of a price in micro-USDC. */
  function priceText(micro) {
    const whole = Math.floor(micro / MICRO);
    const frac = String(micro % MICRO).padStart(6, "0").replace(/0+$/, "").padEnd(2, "0");
    return whole + "." + frac;
  }

  /** User input in cents ("57", "57.5") -> API price string ("0.57", "0.575"); null if bad. */
  function centsToPrice(text) {
    const m = /^(\d{1,3})(?:\.(\d{1,4}))?$/.exec(String(text || "").trim());
    if (!m) return null;
    const micro = Number(m[1]) * 10000 + Number((m[2] || "").padEnd(4, "0"));
    if (micro <= 0 || micro >= MICRO) return null;
    return priceText(micro);
  }

  /** User input in dollars ("25", "1,000.5") -> API amount string; null if bad. */
  function dollarsToAmount(text) {
    const clean = String(text || "").trim().replace(/[$,\s]/g, "");
    const m = /^(-)?(\d{1,12})(?:\.(\d{1,6}))?$/.exec(clean);
    if (!m) return null;
    return (m[1] || "") + m[2] + (m[3] ? "." + m[3] : "");
  }

  function group(digits) {
    return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  }

  /** micro (Number) -> "57¢", "57.5¢" (rounded to a tenth of a cent); null -> "—". */
  function centsOfMicro(micro) {
    if (micro === null || micro === undefined || Number.isNaN(micro)) return "—";
    const sign = micro < 0 ? "−" : "";
    const tenths = Math.round(Math.abs(micro) / 1000);  // tenths of a cent
    const whole = Math.floor(tenths / 10);
    const frac = tenths % 10;
    return sign + whole + (frac ? "." + frac : "") + "¢";
  }

  /** micro (Number) -> the exact price in cents, every digit ("49.0495¢"), for titles. */
  function exactCents(micro) {
    if (micro === null || micro === undefined || Number.isNaN(micro)) return "";
    const abs = Math.abs(micro);
    const frac = String(abs % 10000).padStart(4, "0").replace(/0+$/, "");
    return (micro < 0 ? "−" : "") + Math.floor(abs / 10000) + (frac ? "." + frac : "") + "¢";
  }

  /** BigInt micro-USDC -> "$1,234.57" (rounded half away from zero to the cent). */
  function dollars(v) {
    const neg = v < 0n;
    const abs = neg ? -v : v;
    const cents = (abs + 5000n) / 10000n;
    const whole = (cents / 100n).toString();
    const frac = (cents % 100n).toString().padStart(2, "0");
    return (neg && cents ? "−" : "") + "$" + group(whole) + "." + frac;
  }

  /** BigInt micro-USDC -> "$1,234.567891" with every digit the API sent (for titles, CSV). */
  function dollarsExact(v) {
    const neg = v < 0n;
    const abs = neg ? -v : v;
    const whole = (abs / MICRO_N).toString();
    const frac = (abs % MICRO_N).toString().padStart(6, "0").replace(/0+$/, "").padEnd(2, "0");
    return (neg ? "−" : "") + "$" + group(whole) + "." + frac;
  }

  const toBig = (text) => (typeof text === "bigint" ? text : microBig(text));

  FT.units = { MICRO, microBig, priceMicro, priceText, centsToPrice, dollarsToAmount };

  // -- formatting ----------------------------------------------------------------------------

  // Money is shown in dollars and cents, prices in cents (a tenth of a cent at most), chances in
  // whole percent; the exact micro-USDC value is only in the API, the CSV and a hover title
  // (FT.money, FT.priceTag).
  const fmt = (FT.fmt = {
    /** "0.57" -> "57¢"; "0.49049" -> "49¢"; "0.4915" -> "49.2¢". */
    price(text) {
      return centsOfMicro(priceMicro(text));
    },
    priceMicro: centsOfMicro,
    priceExact(text) {
      return exactCents(priceMicro(text));
    },
    /** "12500.25761" -> "$12,500.26"; a non-zero amount under half a cent -> "<$0.01". */
    amount(text) {
      const v = toBig(text);
      if (v === null) return "—";
      if (v !== 0n && (v < 0n ? -v : v) < 5000n) return (v < 0n ? "−" : "") + "<$0.01";
      return dollars(v);
    },
    /** Every digit: "$9,865.25761". */
    amountExact(text) {
      const v = toBig(text);
      return v === null ? "" : dollarsExact(v);
    },
    /** A signed amount with an explicit + for gains: "+$1.25", "−$0.40". */
    pnl(text) {
      const v = toBig(text);
      if (v === null) return "—";
      const out = fmt.amount(v);
      return (v > 0n && out !== "$0.00" ? "+" : "") + out;
    },
    /** Large dollar volumes, compact: "$1,234", "$12.3K", "$4.5M". */
    volume(text) {
      const v = toBig(text);
      if (v === null) return "—";
      const d = Number(v / MICRO_N);
      if (d >= 1e6) return "$" + (d / 1e6).toFixed(1).replace(/\.0$/, "") + "M";
      if (d >= 1e4) return "$" + (d / 1e3).toFixed(1).replace(/\.0$/, "") + "K";
      return "$" + group(String(d));
    },
    shares(n) {
      if (n === null || n === undefined || n === "") return "—";
      const v = Number(n);
      return (v < 0 ? "−" : "") + group(String(Math.abs(Math.trunc(v))));
    },
    /** A price change in micro-USDC -> "+3¢", "−1.5¢", "0¢". */
    change(micro) {
      if (micro === null || micro === undefined) return "—";
      return (micro > 0 ? "+" : "") + centsOfMicro(micro);
    },
    /** A YES price in micro -> the chance it stands for: "27%", "<1%", ">99%". */
    chance(micro) {
      if (micro === null || micro === undefined || Number.isNaN(micro)) return "—";
      const pct = Math.round(micro / 10000);
      if (micro > 0 && pct < 1) return "<1%";
      if (micro < MICRO && pct > 99) return ">99%";
      return pct + "%";
    },
    /** A change of price in micro -> percentage points: "▲ 3 pts", "▼ 1.5 pts". */
    points(micro) {
      if (micro === null || micro === undefined) return "—";
      const tenths = Math.round(Math.abs(micro) / 1000);
      const text = Math.floor(tenths / 10) + (tenths % 10 ? "." + (tenths % 10) : "");
      if (!tenths) return "0 pts";
      return (micro > 0 ? "▲ " : "▼ ") + text + (text === "1" ? " pt" : " pts");
    },
    /** ms since the epoch -> "Nov 25, 2026, 14:05 CET" in the browser's zone. */
    time(ms) {
      if (!ms) return "—";
      return new Intl.DateTimeFormat(undefined, {
        year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
        timeZoneName: "short",
      }).format(new Date(Number(ms)));
    },
    /** Clock time with seconds, for the trade tape. */
    clock(ms) {
      return new Intl.DateTimeFormat(undefined, {
        hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
      }).format(new Date(Number(ms)));
    },
    date(ms) {
      if (!ms) return "—";
      return new Intl.DateTimeFormat(undefined, {
        year: "numeric", month: "short", day: "numeric",
      }).format(new Date(Number(ms)));
    },
    isoTime(ms) {
      return ms ? new Date(Number(ms)).toISOString() : "";
    },
    zone() {
      return Intl.DateTimeFormat().resolvedOptions().timeZone;
    },
    /** A rate in parts per million -> "0.1%". */
    ppm(ppm) {
      if (ppm === null || ppm === undefined) return "—";
      const hundredths = String(Number(ppm)).padStart(5, "0");  // ppm / 10_000 = percent
      const whole = hundredths.slice(0, -4).replace(/^0+(?=\d)/, "");
      const frac = hundredths.slice(-4).replace(/0+$/, "");
      return whole + (frac ? "." + frac : "") + "%";
    },
    label(text) {
      return String(text || "").replace(/_/g, " ");
    },
  });

  // -- HTML ----------------------------------------------------------------------------------

  const ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  function esc(value) {
    return String(value === null || value === undefined ? "" : value).replace(/[&<>"']/g, (c) => ESC[c]);
  }
  class Raw {
    constructor(text) { this.text = text; }
    toString() { return this.text; }
  }
  /** Tagged template: interpolations are escaped unless wrapped in FT.raw() or nested html``. */
  function html(strings, ...values) {
    let out = strings[0];
    values.forEach((v, i) => {
      if (Array.isArray(v)) out += v.map((x) => (x instanceof Raw ? x.text : esc(x))).join("");
      else out += v instanceof Raw ? v.text : esc(v);
      out += strings[i + 1];
    });
    return new Raw(out);
  }
  FT.esc = esc;
  /** A title linked to an external http(s) page, or plain text when there is no safe link. */
  FT.extLink = (url, text) => (/^https?:\/\//i.test(String(url || ""))
    ? html`<a href="${url}" rel="noopener noreferrer" target="_blank">${text}</a>` : html`${text}`);
  FT.html = html;
  FT.raw = (text) => new Raw(text);
  FT.setHTML = (el, content) => { el.innerHTML = String(content); };
  FT.$ = (sel, root) => (root || document).querySelector(sel);
  FT.$$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  /** An amount in dollars and cents, with the exact value in its title when they differ. */
  FT.money = (text, signed) => {
    const shown = signed ? fmt.pnl(text) : fmt.amount(text);
    const exact = fmt.amountExact(text);
    const plain = exact.replace(/^−/, "");
    return exact && plain !== shown.replace(/^[+−]/, "")
      ? html`<span title="${exact} exactly">${shown}</span>` : html`${shown}`;
  };
  /** A price in cents, with the exact price in its title when rounding hid digits. */
  FT.priceTag = (text) => {
    const shown = fmt.price(text);
    const exact = fmt.priceExact(text);
    return exact && exact !== shown ? html`<span title="${exact} exactly">${shown}</span>` : html`${shown}`;
  };
  // -- order quotes ---------------------------------------------------------------------------

  // Why a quoted order would stop short, or be refused (`reason` of POST /orders/quote).
  const QUOTE_REASONS = {
    self_trade: "it would trade with your own order",
    fill_limit: "too many fills for one order",
    insufficient_funds: "not enough free cash",
    insufficient_shares: "you do not hold enough shares",
    no_position: "reduce-only needs a position to reduce",
    no_liquidity: "nobody is offering shares now",
    post_only_would_take: "post-only would trade at once",
    too_many_orders: "you have too many open orders",
    unknown_account: "your account has no cash yet",
    fok_not_filled: "fill-or-kill needs every share at once",
    market_closed: "the market is closed",
    market_halted: "trading is halted",
  };

  /** The human reason of a quote; `order` ({type, tif}) tells a market order's protection
   * price from a limit order's immediate-or-cancel. */
  FT.quoteReason = function (reason, order) {
    const o = order || {};
    if (reason === "ioc_remainder") {
      if (o.type === "market") return "protection price";
      if (o.tif === "ioc" || o.tif === "fok") return "immediate-or-cancel";
      return "no more shares within your price";
    }
    return QUOTE_REASONS[reason] || fmt.label(reason);
  };

  /** A quote (POST /orders/quote) as one short sentence for the ticket, e.g. "Would fill 10
   * of 20 shares at 55¢ on average ($5.51 with fees); the rest is cancelled (protection
   * price)." `order` is optional ({type: "market"|"limit", tif}) and only sharpens the reason.
   * Money in dollars and cents, prices in cents. "" for an answer it does not know. */
  FT.quoteSummary = function (quote, order) {
    const q = quote || {};
    const sell = q.proceeds_now !== undefined && q.cost_now === undefined;
    const filled = Number(q.filled || 0);
    const size = q.unfilled === null || q.unfilled === undefined ? null : filled + Number(q.unfilled);
    const shares = (n) => `${fmt.shares(n)} share${Number(n) === 1 ? "" : "s"}`;
    const money = sell ? `you get ${fmt.amount(q.proceeds_now)} after fees` : `${fmt.amount(q.cost_now)} with fees`;
    const at = q.avg_price ? ` at ${fmt.price(q.avg_price)} on average` : "";
    const done = filled ? `${at} (${money})` : "";
    const why = q.reason ? ` (${FT.quoteReason(q.reason, order)})` : "";
    const what = size === null ? `Would ${sell ? "sell" : "buy"} ${shares(filled)}` : null;
    switch (q.status) {
      case "filled":
        return `${what || `Would fill all ${shares(size)}`}${done}.`;
      case "partially_filled":
        return `${what || `Would fill ${fmt.shares(filled)} of ${shares(size)}`}${done}; the rest is cancelled${why}.`;
      case "not_filled":
        return `Would fill nothing: the order is cancelled${why}.`;
      case "resting":
        if (!filled) return `Would fill nothing now: ${size === null ? "the order rests" : size === 1 ? "the share rests" : `all ${shares(size)} rest`} on the book at your limit.`;
        return `${what || `Would fill ${fmt.shares(filled)} of ${shares(size)}`}${done} now; ${size === null ? "the rest rests" : `the other ${fmt.shares(size - filled)} ${size - filled === 1 ? "rests" : "rest"}`} on the book at your limit.`;
      case "killed":
        return `Would not trade: fill-or-kill cannot fill ${size === null ? "the order" : `all ${shares(size)}`} now.`;
      case "refused":
        return `Would be refused${q.reason ? `: ${FT.quoteReason(q.reason, order)}` : ""}.`;
      default:
        return "";
    }
  };

  FT.timeTag = (ms) => (ms ? html`<time datetime="${fmt.isoTime(ms)}">${fmt.time(ms)}</time>` : "—");
  FT.sideClass = (side) => (side === "buy" ? "up" : "down");

  /** Resolves once the document is parsed and htmx has processed it. */
  FT.domReady = new Promise((resolve) => {
    // Deferred scripts run while readyState is already "interactive" but before htmx has
    // processed the page (on DOMContentLoaded), so only "complete" means that has happened.
    if (document.readyState === "complete") setTimeout(resolve, 0);
    else document.addEventListener("DOMContentLoaded", () => setTimeout(resolve, 0));
  });

  // -- the API client ------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, code, message, details) {
      super(message || code);
      this.status = status;
      this.code = code;
      this.details = details;
    }
  }
  FT.ApiError = ApiError;

  /** The human text of an API error, with validation details when there are some. */
  FT.errorText = function (err) {
    if (!(err instanceof ApiError)) return "Network error: " + (err && err.message ? err.message : "no answer from the server.");
    let text = err.message || err.code;
    if (Array.isArray(err.details) && err.details.length && err.details[0].msg) {
      text += " " + err.details.map((d) => (d.loc ? d.loc.filter((x) => x !== "body").join(".") + ": " : "") + d.msg).join("; ");
    }
    return text;
  };

  FT.csrf = null;

  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    const init = { method, headers, credentials: "same-origin" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    if (method !== "GET" && FT.csrf) headers["X-CSRF-Token"] = FT.csrf;
    let response;
    try {
      response = await fetch("/api/v1" + path, init);
    } catch (err) {
      if (FT.failover) FT.failover.suspect();
      throw new ApiError(0, "network", "Network error: the server did not answer.");
    }
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (err) { data = null; }
    if (!response.ok) {
      const e = (data && data.error) || {};
      throw new ApiError(response.status, e.code || "http_" + response.status,
        e.message || response.statusText || "Request failed.", e.details);
    }
    return data;
  }
  FT.api = {
    get: (path) => api("GET", path),
    post: (path, body) => api("POST", path, body === undefined ? {} : body),
    patch: (path, body) => api("PATCH", path, body),
    put: (path, body) => api("PUT", path, body),
    del: (path) => api("DELETE", path),
  };

  // -- the session ---------------------------------------------------------------------------

  /** Resolves to the account (with csrf_token) or null when logged out. */
  // The server tells the page whether a session cookie came with it: without one there is
  // nothing to ask (and GET /account would only answer 401).
  const maybeSession = document.documentElement.dataset.session !== "none";
  FT.session = (maybeSession ? api("GET", "/account") : Promise.reject(new ApiError(401, "no_session", ""))).then((account) => {
    FT.csrf = account.csrf_token || null;
    FT.account = account;
    return account;
  }, (err) => {
    if (!(err instanceof ApiError) || err.status !== 401) console.warn("account", err);
    FT.account = null;
    return null;
  });

  // -- messages to the user ------------------------------------------------------------------

  FT.toast = function (text, kind) {
    const region = document.getElementById("toasts");
    if (!region) return;
    const item = document.createElement("div");
    item.className = "toast " + (kind || "info");
    item.setAttribute("role", kind === "error" ? "alert" : "status");
    item.textContent = text;
    region.appendChild(item);
    setTimeout(() => item.remove(), kind === "error" ? 8000 : 5000);
  };

  FT.showError = function (container, err) {
    const box = container && (container.matches("[data-error]") ? container : container.querySelector("[data-error]"));
    const text = typeof err === "string" ? err : FT.errorText(err);
    if (box) {
      box.textContent = text;
      box.hidden = false;
    } else {
      FT.toast(text, "error");
    }
  };
  FT.clearError = function (container) {
    const box = container && container.querySelector("[data-error]");
    if (box) { box.textContent = ""; box.hidden = true; }
  };

  // -- cluster mode: moving to another gateway when this one dies -----------------------------

  /* A cluster gateway renders the live gateways into html[data-gateways] (and allows the page
   * to reach them in its Content-Security-Policy); a single node renders nothing and all of
   * this stays off. When the WebSocket drops or a request gets no answer, the page asks its own
   * gateway twice, 1.5 s apart; if neither answers it shows a notice and moves to the same
   * address on the first other gateway that answers (the session cookie is not port-scoped,
   * and a shared cookie domain covers several hosts, so the user stays logged in). The list is
   * fetched again every 30 s and whenever the WebSocket (re)connects. */
  FT.failover = (function () {
    const listed = document.documentElement.dataset.gateways;
    if (listed === undefined) return { suspect() {}, get gateways() { return []; } };
    const own = location.origin;
    const allowed = new Set(listed.split(/\s+/).filter(Boolean));  // the ones the CSP lets us ask
    let gateways = Array.from(allowed);
    let checking = false;
    let notice = null;
    let leaving = false;  // the page is being left: its WebSocket closing says nothing
    window.addEventListener("pagehide", () => { leaving = true; });
    window.addEventListener("pageshow", () => { leaving = false; });

    async function refresh() {
      try {
        const r = await fetch("/api/v1/gateways", { headers: { Accept: "application/json" }, cache: "no-store" });
        if (r.ok) {
          const data = await r.json();
          if (Array.isArray(data.gateways) && data.gateways.length) gateways = data.gateways.map(String);
        }
      } catch (err) { /* the next WebSocket close tells */ }
    }
    /** Whether `base` answers within 2 s (a peer's answer is opaque: it answered, that is all). */
    async function answers(base) {
      const ctrl = new AbortController();
      const timer = setTimeout(() => ctrl.abort(), 2000);
      try {
        await fetch(base + "/api/v1/time", { cache: "no-store", credentials: "omit", signal: ctrl.signal,
          mode: base === own ? "same-origin" : "no-cors" });
        return true;
      } catch (err) {
        return false;
      } finally {
        clearTimeout(timer);
      }
    }
    function showNotice(text) {
      if (!notice) {
        notice = document.createElement("div");
        notice.id = "failover-notice";
        notice.className = "failover-notice";
        notice.setAttribute("role", "alert");
        document.body.appendChild(notice);
      }
      notice.textContent = text;
      // The page's own "network error" boxes say less than the notice does: hidden meanwhile.
      document.body.classList.add("failing-over");
    }
    function hideNotice() {
      if (notice) { notice.remove(); notice = null; }
      document.body.classList.remove("failing-over");
    }
    const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
    function shuffled(list) {
      const out = list.slice();
      for (let i = out.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [out[i], out[j]] = [out[j], out[i]];
      }
      return out;
    }
    function move(base) {
      showNotice("Connection lost, moving to another server…");
      location.replace(base + location.pathname + location.search + location.hash);
    }

    async function suspect() {
      if (checking || leaving) return;
      checking = true;
      try {
        if (await answers(own) || leaving) return;
        showNotice("Connection lost, moving to another server…");
        await sleep(1500);
        for (let round = 0; ; round++) {
          if (await answers(own)) { hideNotice(); return; }  // it came back: stay
          const others = shuffled(gateways.filter((g) => g !== own));
          for (const base of others.filter((g) => allowed.has(g))) {
            if (await answers(base)) { move(base); return; }
          }
          // Gateways that joined after this page loaded cannot be asked first (CSP): go.
          const unasked = others.filter((g) => !allowed.has(g));
          if (unasked.length) { move(unasked[0]); return; }
          if (round === 2) showNotice("Connection lost. No other server answers yet; still trying…");
          await sleep(3000);
        }
      } finally {
        checking = false;
      }
    }
    setInterval(refresh, 30000);
    return {
      suspect,
      refresh,
      get gateways() { return gateways.slice(); },
    };
  })();

  // -- the WebSocket -------------------------------------------------------------------------

  FT.ws = (function () {
    const handlers = new Map();  // channel -> Set of functions
    const statusListeners = new Set();
    const openListeners = new Set();
    let sock = null;
    let backoffMs = 500;
    let status = "connecting";
    let nextId = 1;
    let started = false;

    function setStatus(value) {
      status = value;
      statusListeners.forEach((fn) => fn(value));
      const dot = document.getElementById("live-status");
      if (dot) {
        dot.dataset.state = value;
        dot.textContent = value === "live" ? "Live" : value === "connecting" ? "Connecting…" : "Reconnecting…";
      }
    }
    function send(message) {
      if (sock && sock.readyState === WebSocket.OPEN) {
        message.id = nextId++;
        sock.send(JSON.stringify(message));
        return true;
      }
      return false;
    }
    function connect() {
      const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/v1/ws";
      sock = new WebSocket(url);
      sock.onopen = () => {
        backoffMs = 500;
        setStatus("live");
        if (FT.failover.refresh) FT.failover.refresh();
        const channels = Array.from(handlers.keys());
        if (channels.length) send({ op: "subscribe", channels });
        openListeners.forEach((fn) => fn());
      };
      sock.onmessage = (event) => {
        let msg;
        try { msg = JSON.parse(event.data); } catch (err) { return; }
        if (msg.type === "error") {
          console.warn("ws error", msg.error);
          return;
        }
        const set = msg.channel && handlers.get(msg.channel);
        if (set) set.forEach((fn) => fn(msg));
      };
      sock.onclose = () => {
        setStatus("reconnecting");
        FT.failover.suspect();
        setTimeout(connect, backoffMs);
        backoffMs = Math.min(backoffMs * 2, 10000);
      };
    }
    function start() {
      if (!started) { started = true; setStatus("connecting"); connect(); }
    }
    return {
      /** Call fn with every message of channel; returns a function that stops it. */
      subscribe(channel, fn) {
        start();
        let set = handlers.get(channel);
        if (!set) {
          set = new Set();
          handlers.set(channel, set);
          send({ op: "subscribe", channels: [channel] });
        }
        set.add(fn);
        return () => {
          set.delete(fn);
          if (!set.size) {
            handlers.delete(channel);
            send({ op: "unsubscribe", channels: [channel] });
          }
        };
      },
      /** Ask again for a channel's first message (a fresh book snapshot). */
      resync(channel) {
        send({ op: "unsubscribe", channels: [channel] });
        send({ op: "subscribe", channels: [channel] });
      },
      onStatus(fn) { statusListeners.add(fn); fn(status); },
      onOpen(fn) { openListeners.add(fn); },
      get status() { return status; },
    };
  })();

  /** Run fn at most once per `ms` (trailing), for refreshes driven by bursts of events. */
  FT.debounce = function (fn, ms) {
    let timer = null;
    return function () {
      if (timer) return;
      timer = setTimeout(() => { timer = null; fn(); }, ms);
    };
  };

  // -- the htmx extension "ft": JSON in, rendered HTML out -----------------------------------

  /** Renderers turn an API answer into HTML for an element with data-render="name". */
  FT.renderers = {};

  function typedValue(input, raw) {
    const type = input && input.dataset ? input.dataset.type : "";
    const text = typeof raw === "string" ? raw.trim() : raw;
    switch (type) {
      case "int": return text === "" ? undefined : Number.parseInt(text, 10);
      case "bool": return true;
      case "cents": return text === "" ? undefined : (FT.units.centsToPrice(text) || text);
      case "dollars": return text === "" ? undefined : (FT.units.dollarsToAmount(text) || text);
      case "lines": return text.split("\n").map((s) => s.trim()).filter(Boolean);
      case "csv": return text.split(",").map((s) => s.trim()).filter(Boolean);
      case "datetime": return text === "" ? undefined : new Date(text).getTime();
      default: return text === "" && input && input.dataset.optional !== undefined ? undefined : text;
    }
  }

  /** FormData of a form -> the JSON body its data-type hints describe ("a.b" names nest). */
  FT.formJSON = function (form, formData) {
    const data = formData || new FormData(form);
    const out = {};
    for (const [name, raw] of data.entries()) {
      if (name.startsWith("_")) continue;
      const input = form.querySelector(`[name="${CSS.escape(name)}"]`);
      const value = typedValue(input, raw);
      if (value === undefined) continue;
      const path = name.split(".");
      let target = out;
      path.slice(0, -1).forEach((key) => { target = target[key] = target[key] || {}; });
      const key = path[path.length - 1];
      if (input && input.dataset.type === "list") (target[key] = target[key] || []).push(value);
      else target[key] = value;
    }
    FT.$$("[data-type=list]", form).forEach((input) => {
      if (!(input.name in out)) out[input.name] = [];
    });
    return out;
  };

  function errorBoxFor(elt) {
    const form = elt.closest("form") || elt;
    return form.querySelector("[data-error]") || document.querySelector(`[data-error-for="${elt.id}"]`);
  }

  function onSuccess(elt, data) {
    const action = elt.dataset.onSuccess || "";
    if (action.startsWith("redirect:")) {
      window.location.assign(action.slice(9));
    } else if (action === "reload") {
      window.location.reload();
    } else if (action.startsWith("event:")) {
      document.body.dispatchEvent(new CustomEvent(action.slice(6), { detail: data }));
    }
    if (elt.dataset.resetOnSuccess !== undefined && elt.reset) elt.reset();
    if (elt.dataset.successMessage) FT.toast(elt.dataset.successMessage, "ok");
    const hook = elt.dataset.onData && FT.hooks[elt.dataset.onData];
    if (hook) hook(data, elt);
  }
  FT.hooks = {};

  function defineExtension() {
    if (!window.htmx) return;
    window.htmx.config.allowEval = false;
    window.htmx.config.includeIndicatorStyles = false;
    window.htmx.config.selfRequestsOnly = true;
    window.htmx.defineExtension("ft", {
      onEvent(name, evt) {
        const elt = evt.detail && evt.detail.elt;
        if (name === "htmx:configRequest") {
          const d = evt.detail;
          d.headers["Accept"] = "application/json";
          if (FT.csrf) d.headers["X-CSRF-Token"] = FT.csrf;
          if (d.verb === "get") {
            const params = d.formData || d.parameters;
            const drop = [];
            for (const [key, value] of params.entries()) if (value === "" || key.startsWith("_")) drop.push(key);
            drop.forEach((key) => params.delete(key));
          } else {
            d.headers["Content-Type"] = "application/json";
          }
        } else if (name === "htmx:beforeRequest") {
          const box = errorBoxFor(elt);
          if (box) { box.textContent = ""; box.hidden = true; }
          if (elt.tagName === "FORM") elt.setAttribute("aria-busy", "true");
        } else if (name === "htmx:afterRequest") {
          elt.removeAttribute("aria-busy");
          const xhr = evt.detail.xhr;
          if (evt.detail.successful) {
            let data = null;
            try { data = xhr.responseText ? JSON.parse(xhr.responseText) : null; } catch (err) { data = null; }
            onSuccess(elt, data);
          } else if (xhr) {
            let e = {};
            try { e = JSON.parse(xhr.responseText).error || {}; } catch (err) { e = {}; }
            const error = new ApiError(xhr.status, e.code || "http_" + xhr.status, e.message || xhr.statusText, e.details);
            const box = errorBoxFor(elt);
            if (elt.dataset.render && xhr.status === 401) {
              FT.setHTML(elt, html`<p class="muted"><a href="/login?next=${location.pathname}">Log in</a> to see this.</p>`);
            } else if (box) {
              box.textContent = FT.errorText(error);
              box.hidden = false;
            } else {
              FT.toast(FT.errorText(error), "error");
            }
          }
        } else if (name === "htmx:sendError") {
          FT.showError(elt.closest("form") || elt, new ApiError(0, "network", "Network error: the server did not answer."));
        }
        return true;
      },
      encodeParameters(xhr, parameters, elt) {
        xhr.overrideMimeType("application/json");
        const form = elt.closest("form") || elt;
        return JSON.stringify(FT.formJSON(form, parameters));
      },
      transformResponse(text, xhr, elt) {
        const name = elt.dataset.render;
        if (!name) return text;
        const render = FT.renderers[name];
        let data = null;
        try { data = JSON.parse(text); } catch (err) { return html`<p class="error">The server answered something that is not JSON.</p>`.text; }
        return render ? String(render(data, elt)) : text;
      },
    });
  }
  defineExtension();

  // -- the header: who is logged in, and their free cash -------------------------------------

  function renderBalance(balance) {
    const el = document.getElementById("nav-balance");
    if (el && balance) {
      el.hidden = false;
      el.querySelector("[data-free]").textContent = fmt.amount(balance.free);
    }
  }

  async function logout() {
    try {
      await FT.api.post("/auth/logout");
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 401) { FT.toast(FT.errorText(err), "error"); return; }
    }
    window.location.assign("/");
  }

  FT.session.then((account) => {
    document.documentElement.dataset.auth = account ? "in" : "out";
    if (account && account.role) document.documentElement.dataset.role = account.role;
    FT.$$("[data-when]").forEach((el) => {
      const want = el.dataset.when;
      el.hidden = !(want === "in" ? !!account : want === "out" ? !account :
        want === "supervisor" ? !!account && account.role === "supervisor" : false);
    });
    const name = document.getElementById("nav-user");
    if (name && account) name.textContent = account.display_name || account.username;
    const out = document.getElementById("logout");
    if (out) out.addEventListener("click", logout);
    if (account) {
      FT.api.get("/portfolio/balance").then(renderBalance, () => {});
      FT.ws.subscribe("balance", (msg) => renderBalance(msg));
    }
    document.body.dispatchEvent(new CustomEvent("ft:session", { detail: account }));
  });

  // Menu toggle for narrow screens.
  document.addEventListener("DOMContentLoaded", () => {
    const button = document.getElementById("menu-toggle");
    const nav = document.getElementById("site-nav");
    if (button && nav) {
      button.addEventListener("click", () => {
        const open = button.getAttribute("aria-expanded") !== "true";
        button.setAttribute("aria-expanded", String(open));
        nav.dataset.open = String(open);
      });
    }
    FT.$$("[data-local-zone]").forEach((el) => { el.textContent = fmt.zone(); });
  });

  // -- keyboard access to scrolling tables ------------------------------------------------------

  /** A table that scrolls must be reachable by keyboard: make such wrappers focusable regions. */
  function scrollRegions() {
    FT.$$(".table-wrap").forEach((el) => {
      const scrolls = el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1;
      if (scrolls && !el.hasAttribute("tabindex")) {
        el.setAttribute("tabindex", "0");
        el.setAttribute("role", "region");
        const heading = el.closest("section") && el.closest("section").querySelector("h2");
        el.setAttribute("aria-label", (heading ? heading.textContent.trim() : "Table") + " (scrollable)");
      } else if (!scrolls && el.getAttribute("tabindex") === "0") {
        el.removeAttribute("tabindex");
        el.removeAttribute("role");
        el.removeAttribute("aria-label");
      }
    });
  }
  let scrollCheck = null;
  const queueScrollRegions = () => {
    if (scrollCheck) return;
    scrollCheck = requestAnimationFrame(() => { scrollCheck = null; scrollRegions(); });
  };
  document.addEventListener("DOMContentLoaded", () => {
    new MutationObserver(queueScrollRegions).observe(document.body, { childList: true, subtree: true });
    window.addEventListener("resize", queueScrollRegions);
    queueScrollRegions();
  });

  // -- installable app -----------------------------------------------------------------------

  if ("serviceWorker" in navigator && (location.protocol === "https:" || location.hostname === "127.0.0.1" || location.hostname === "localhost")) {
    window.addEventListener("load", () => {
      navigator.serviceWorker.register("/sw.js").catch((err) => console.warn("service worker", err));
    });
  }
})();
