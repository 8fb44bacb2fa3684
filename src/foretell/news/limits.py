"""Every bound the news feed enforces, in one place (qualifier last, unit in the name).

A feed is untrusted input: each fetch, each entry and each field is capped here, so a broken or
hostile feed costs at most these amounts of memory, time and storage.
"""

# Fetching
feed_bytes_max = 4 * 1024 * 1024  # a larger response is refused, never parsed
fetch_timeout_s = 15.0
redirects_max = 5
feed_url_chars_max = 2_000
feeds_max = 200

# Polling
poll_interval_s_min = 30
poll_interval_s_max = 86_400
poll_interval_s_default = 900
backoff_s_max = 6 * 3_600  # exponential back-off after failures stops growing here
poller_sleep_s_max = 5.0  # the poller looks for due feeds at least this often
entries_per_poll_max = 100

# Fields (characters, after sanitizing to plain text)
title_chars_max = 300
summary_chars_max = 2_000
author_chars_max = 200
source_chars_max = 200
link_chars_max = 2_000
guid_chars_max = 500
tags_per_item_max = 20
tag_chars_max = 64
raw_field_chars_max = 200_000  # longer raw HTML is cut before sanitizing (bounds parser work)

# Dates: a published time outside [published_ms_min, now + future_skew_ms] is replaced by the
# arrival time (RSS did not exist before 1995; a feed may not date news in the future).
published_ms_min = 788_918_400_000  # 1995-01-01T00:00:00Z
future_skew_ms = 5 * 60_000

# Linking
markets_per_item_max = 50
tag_link_markets_max = 5  # a tag carried by more linkable markets is too broad to link by
text_overlap_min = 3  # shared question keywords needed to link by text ...
text_overlap_ratio_min = 0.4  # ... and at least this share of the question's keywords

# API
posts_market_ids_max = 20
news_per_market_detail = 10
news_per_candle_max = 20
list_limit_max = 200
search_terms_max = 10
