"""The chart of accounts a Singapore SME starts with: what the postings need, by role, and the
usual accounts around them. A company may add accounts and rename these; an account that was
posted to is archived, never deleted."""

from __future__ import annotations

from dataclasses import dataclass

from pasar.ledger.models import AccountKind


@dataclass(frozen=True)
class TemplateAccount:
    code: str
    name: str
    kind: AccountKind
    role: str = ""


# Roles the postings look accounts up by.
BANK = "bank"
PAYMENT_CLEARING = "payment_clearing"
GATEWAY_CLEARING = "gateway_clearing"
RECEIVABLES = "receivables"
INVENTORY = "inventory"
INVENTORY_IN_TRANSIT = "inventory_in_transit"
GOODS_RECEIVED = "goods_received"  # received from suppliers, their bills not yet entered
GST_INPUT = "gst_input"
PAYABLES = "payables"
GST_OUTPUT = "gst_output"
CUSTOMER_RECEIPTS = "customer_receipts"  # money customers paid, until a sale is posted for it
CUSTOMER_REFUNDS = "customer_refunds"
EQUITY = "equity"
RETAINED_EARNINGS = "retained_earnings"
SALES = "sales"
SHIPPING_INCOME = "shipping_income"
DISCOUNTS = "discounts"
COGS = "cogs"
GATEWAY_FEES = "gateway_fees"
WRITE_OFFS = "write_offs"
STOCK_ADJUSTMENTS = "stock_adjustments"

SME_CHART: tuple[TemplateAccount, ...] = (
    TemplateAccount("1000", "Bank", AccountKind.ASSET, BANK),
    TemplateAccount("1010", "PayNow and payment clearing", AccountKind.ASSET, PAYMENT_CLEARING),
    TemplateAccount("1020", "Card gateway clearing", AccountKind.ASSET, GATEWAY_CLEARING),
    TemplateAccount("1100", "Trade receivables", AccountKind.ASSET, RECEIVABLES),
    TemplateAccount("1200", "Inventory", AccountKind.ASSET, INVENTORY),
    TemplateAccount("1210", "Inventory in transit", AccountKind.ASSET, INVENTORY_IN_TRANSIT),
    TemplateAccount("1300", "GST input tax", AccountKind.ASSET, GST_INPUT),
    TemplateAccount("1500", "Prepayments and deposits", AccountKind.ASSET),
    TemplateAccount("2000", "Trade payables", AccountKind.LIABILITY, PAYABLES),
    TemplateAccount("2050", "Goods received not invoiced", AccountKind.LIABILITY, GOODS_RECEIVED),
    TemplateAccount("2100", "GST output tax", AccountKind.LIABILITY, GST_OUTPUT),
    TemplateAccount(
        "2150",
        "Customer payments not yet matched to a sale",
        AccountKind.LIABILITY,
        CUSTOMER_RECEIPTS,
    ),
    TemplateAccount("2200", "Refunds due to customers", AccountKind.LIABILITY, CUSTOMER_REFUNDS),
    TemplateAccount("2300", "Accrued expenses", AccountKind.LIABILITY),
    TemplateAccount("3000", "Share capital", AccountKind.EQUITY, EQUITY),
    TemplateAccount("3100", "Retained earnings", AccountKind.EQUITY, RETAINED_EARNINGS),
    TemplateAccount("4000", "Sales", AccountKind.INCOME, SALES),
    TemplateAccount("4100", "Shipping income", AccountKind.INCOME, SHIPPING_INCOME),
    TemplateAccount("4200", "Sales discounts", AccountKind.INCOME, DISCOUNTS),
    TemplateAccount("4900", "Other income", AccountKind.INCOME),
    TemplateAccount("5000", "Cost of goods sold", AccountKind.EXPENSE, COGS),
    TemplateAccount("5100", "Inventory write-offs", AccountKind.EXPENSE, WRITE_OFFS),
    TemplateAccount("5200", "Stock count adjustments", AccountKind.EXPENSE, STOCK_ADJUSTMENTS),
    TemplateAccount("6000", "Payment gateway fees", AccountKind.EXPENSE, GATEWAY_FEES),
    TemplateAccount("6100", "Rent", AccountKind.EXPENSE),
    TemplateAccount("6200", "Salaries and CPF", AccountKind.EXPENSE),
    TemplateAccount("6900", "General expenses", AccountKind.EXPENSE),
)
