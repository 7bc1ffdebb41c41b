"""The fixed words of a receipt in Chinese and English (docs/printer.md)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Labels", "labels_for"]


@dataclass(frozen=True, slots=True)
class Labels:
    """The fixed words of a receipt in one language."""

    lang_tag: str
    title: str
    self_pay_title: str
    refund: str
    self_pay: str
    offline: str
    institution: str
    terminal: str
    settled_at: str
    operator: str
    person: str
    cert: str
    insutype: str
    medfee: str
    total: str
    fund: str
    acct: str
    cash: str
    payment_method: str
    txn_id: str
    orig_txn_id: str
    seq: str
    ledger_hash: str
    verify: str
    partial: str
    reason: str
    acct_balance: str
    kept: str
    tendered: str
    change: str
    methods: dict[str, str]
    categories: dict[str, str]


_ZH = Labels(
    lang_tag="zh-CN",
    title="医保结算单",
    self_pay_title="自费结算单",
    refund="退费",
    self_pay="自费 — 未使用医保",
    offline="离线结算",
    institution="机构编码",
    terminal="终端编号",
    settled_at="结算时间",
    operator="收款员",
    person="参保人",
    cert="证件号码",
    insutype="险种",
    medfee="医疗费总额",
    total="合计",
    fund="统筹基金支付",
    acct="个人账户支付",
    cash="个人现金支付",
    payment_method="支付方式",
    txn_id="流水号",
    orig_txn_id="原流水号",
    seq="账本序号",
    ledger_hash="账本哈希",
    verify="扫码核验",
    partial="部分退费",
    reason="退费原因",
    acct_balance="个人账户余额",
    kept="保留部分（新结算 %s）",
    tendered="实收现金",
    change="找零",
    methods={"cash": "现金", "bank_card": "银行卡", "mobile": "移动支付"},
    categories={"A": "甲类", "B": "乙类", "C": "丙类", "": "自费"},
)

_EN = Labels(
    lang_tag="en",
    title="Medical Insurance Settlement",
    self_pay_title="Self-pay Receipt",
    refund="REFUND",
    self_pay="Self-pay — no insurance used",
    offline="OFFLINE SETTLEMENT",
    institution="Institution",
    terminal="Terminal",
    settled_at="Settled at",
    operator="Cashier",
    person="Insured",
    cert="ID no.",
    insutype="Insurance",
    medfee="Total medical fees",
    total="Total",
    fund="Pooled fund paid",
    acct="Personal account paid",
    cash="Cash paid",
    payment_method="Payment method",
    txn_id="Transaction",
    orig_txn_id="Original transaction",
    seq="Ledger seq",
    ledger_hash="Ledger hash",
    verify="Scan to verify",
    partial="PARTIAL REFUND",
    reason="Refund reason",
    acct_balance="Account balance after",
    kept="Kept (new settlement %s)",
    tendered="Cash tendered",
    change="Change",
    methods={"cash": "Cash", "bank_card": "Bank card", "mobile": "Mobile payment"},
    categories={"A": "Class A", "B": "Class B", "C": "Class C", "": "Self-pay"},
)


def labels_for(language: str) -> Labels:
    """The labels of "zh" or "en"."""
    return {"zh": _ZH, "en": _EN}[language]
