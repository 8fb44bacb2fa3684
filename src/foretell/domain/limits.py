"""Every bound the exchange enforces, in one place (qualifier last, unit in the name)."""

from typing import Final

tick_micro_default: Final = 10_000
tick_micro_allowed = (10_000, 1_000)
size_shares_max_default: Final = 1_000_000
fee_ppm_default: Final = 1_000  # 0.1 % of notional
fee_ppm_max: Final = 100_000
creator_share_ppm_max: Final = 1_000_000
slippage_micro_default: Final = 100_000  # market-order protection band when none is given
void_yes_micro_default: Final = 500_000
outcomes_max: Final = 64
orders_per_account_max: Final = 10_000
triggers_per_account_max: Final = 1_000
fills_per_command_max: Final = 10_000
client_id_bytes_max: Final = 64
client_ids_recent_max: Final = 4_096  # finished orders whose client id still blocks a retry
amount_micro_max: Final = 10**15  # one billion USDC in a single deposit or withdrawal
pool_subsidy_micro_min: Final = 1_000_000  # 1 USDC: a smaller pool quotes almost nothing
pool_levels_shown_max: Final = 50  # pool depth levels in a book view, per side
order_group_contracts_max: Final = 10**9
order_group_window_ms_max: Final = 86_400_000  # one day
order_groups_per_account_max: Final = 1_000  # groups are never deleted: kept in engine memory
dead_man_timeout_ms_max: Final = 3_600_000  # one hour
