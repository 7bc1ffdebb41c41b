"""The console's two languages: Chinese by default, English by the `lang` cookie. The console's
strings are few and its own (the hub imports nothing from the terminal's web face), so the
Chinese sits in a table here rather than in a gettext catalogue; a string it lacks shows as the
English source, as in gettext."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["LANGUAGES", "translator"]

LANGUAGES = ("zh", "en")

ZH = {
    "Fleet console": "终端管理台",
    "Terminals": "终端",
    "Days": "每日统计",
    "Rejected": "已拒绝",
    "Held": "挂起",
    "Unregistered persons": "未登记人员",
    "Enrolment codes": "注册码",
    "Publish reference data": "发布基础数据",
    "Sign in": "登录",
    "Sign out": "退出",
    "Operator": "操作员",
    "Password": "密码",
    "Wrong name or password.": "用户名或密码错误。",
    "Terminal": "终端",
    "Institution": "机构",
    "Region": "区划",
    "Enrolled": "注册日期",
    "Last heartbeat": "最近心跳",
    "Queue": "待上传",
    "Oldest unsynced": "最早未上传",
    "Chain head": "账链末端",
    "Reference data": "基础数据版本",
    "App version": "软件版本",
    "Alerts": "告警",
    "All": "全部",
    "deadline": "超过上传期限",
    "silent": "一天无心跳",
    "rolled_back": "数据库回退",
    "refdata": "基础数据过旧",
    "devices": "终端总数",
    "never": "从未",
    "Next page": "下一页",
    "Day": "日期",
    "accepted": "通过",
    "adjusted": "调整",
    "rejected": "拒绝",
    "held": "挂起",
    "Fund moved by adjustments": "调整涉及基金金额",
    "Entries per day": "每日结算笔数",
    "Transaction": "交易号",
    "Reason": "原因",
    "Settled at": "结算时间",
    "Stored at": "入库时间",
    "Kind": "类型",
    "Person": "人员",
    "Name": "姓名",
    "Insured in": "参保地",
    "Code": "注册码",
    "Device number": "设备号",
    "Institution name": "机构名称",
    "Expires": "到期",
    "Make a code": "生成注册码",
    "File": "文件",
    "Preview": "预览",
    "Publish": "发布",
    "Added": "新增",
    "Removed": "删除",
    "Changed": "变更",
    "Published as version": "已发布，版本",
    "Traceability conflicts": "追溯码冲突",
    "Conflicts": "冲突数",
    "High severity": "高风险",
    "Codes concerned": "涉及追溯码",
    "Traceability code": "追溯码",
    "First sale": "首次销售",
    "Second sale": "再次销售",
    "Hours between": "间隔（小时）",
    "Severity": "严重程度",
    "high": "高",
    "normal": "一般",
    "All days": "全部日期",
    "Nothing to show.": "暂无数据。",
    "Nothing changes: this is the version already published.": "没有变化：与已发布版本相同。",
    "The file cannot be published": "文件无法发布",
    "Stale or tampered preview: upload the file again.": "预览已失效或被篡改：请重新上传文件。",
    "English": "English",
    "中文": "中文",
}


def translator(language: str) -> Callable[[str], str]:
    """The `_` of the templates for `language`."""
    if language == "zh":
        return lambda text: ZH.get(text, text)
    return lambda text: text
