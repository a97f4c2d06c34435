"""A realistic example contract: template previews for administrators, tests and benchmarks."""

from __future__ import annotations

from datetime import date

from marketplace.contracts.documents.render import ContractData, Party


def sample_contract_data(**overrides) -> ContractData:
    """An example 中介服务合同 (fictitious parties with valid USCCs); fields can be overridden."""
    values = {
        "contract_no": "ZJHT-2025-330106-000123",
        "version": 1,
        "buyer": Party(
            name="杭州市西湖区城市建设发展中心",
            uscc="11330106MB12345675",
            legal_representative="王建国",
            address="浙江省杭州市西湖区文三路 100 号",
            signer="李明",
            signer_position="项目负责人",
            phone="0571-88000000",
        ),
        "agency": Party(
            name="浙江求是工程咨询有限公司",
            uscc="91330106MA2H3K4L5N",
            legal_representative="陈晓东",
            address="浙江省杭州市西湖区天目山路 200 号 8 楼",
            signer="张华",
            signer_position="总经理",
            phone="0571-87000000",
        ),
        "approval_case_no": "2025-330106-48-01-000321",
        "approval_item": "建设项目用地预审与选址意见书核发",
        "service_item": "建设项目用地预审土地勘测定界",
        "request_no": "ZJCG-2025-000456",
        "request_title": "西湖区三墩镇社区综合服务中心建设项目土地勘测定界",
        "service_content": (
            "对项目拟用地范围进行实地勘测定界，测量面积约 2.35 公顷，查清用地范围内的土地权属、"
            "地类和面积。\n"
            "编制《建设项目用地勘测定界技术报告》及勘测定界图，提交纸质成果一式六份及电子成果一套。\n"
            "配合甲方完成用地预审申报，并根据审批部门的审查意见修改完善成果。"
        ),
        "price_fen": 1_230_000,
        "working_days": 15,
        "payment_terms": (
            "本合同生效后十个工作日内，甲方向乙方支付合同价款的百分之三十作为预付款。\n"
            "服务成果经甲方验收合格后十个工作日内，甲方向乙方支付合同价款剩余的百分之七十。"
        ),
        "region": "浙江省杭州市西湖区",
        "drafted_on": date(2025, 3, 3),
        "special_terms": "乙方应指派具有注册测绘师资格的人员担任项目负责人，未经甲方同意不得更换。",
    }
    values.update(overrides)
    return ContractData(**values)
