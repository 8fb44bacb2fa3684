"""Every bound the exchange enforces, in one place (qualifier last, unit in the name)."""

tick_micro_default = 10_000
tick_micro_allowed = (10_000, 1_000)
size_shares_max_default = 1_000_000
fee_ppm_default = 1_000  # 0.1 % of notional
fee_ppm_max = 100_000
creator_share_ppm_max = 1_000_000
slippage_micro_default = 100_000  # market-order protection band when none is given
void_yes_micro_default = 500_000
outcomes_max = 64
orders_per_account_max = 10_000
triggers_per_account_max = 1_000
fills_per_command_max = 10_000
client_id_bytes_max = 64
client_ids_recent_max = 4_096  # finished orders whose client id still blocks a retry
amount_micro_max = 10**15  # one billion USDC in a single deposit or withdrawal
