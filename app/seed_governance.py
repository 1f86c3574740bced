"""Demo governance (issue 15): the privacy policy, the franchise manual library with numbered
copies held by the demo franchisees (one lost and reissued), and announcements, made through
the services as headquarters makes them. Idempotent: nothing is added once a manual exists."""
from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import Region, User
from app.models.base import local_today
from app.models.governance import Manual
from app.services.governance import announcements, manuals, privacy

PRIVACY_ZH = """# 隐私政策
本政策说明特许经营总部及各加盟门店如何收集、使用和保护您的个人信息。

# 我们收集哪些信息
- 办理会员、购买、送货和售后服务所必需的信息：姓名、手机号码、地址、购买记录；
- 您自愿提供的信息：生日、职业、兴趣与消费习惯（仅在您同意后收集）；
- 您提出投诉、建议或参加满意度调查时填写的内容。

# 我们如何使用
信息仅用于提供和改进产品与服务、处理您的投诉、回访与会员活动邀请。未经您的同意，不用于广告推送，不向任何第三方提供。

# 我们如何保护
遵循合法、正当、必要的原则；定期备份；传输与存储加密；严格的访问权限，只有经授权的员工可以查阅客户资料。

# 您的权利
您可以随时查询、更正或要求删除您的信息，也可以撤回同意。请联系您办理会员的门店或总部客户服务热线。"""

PRIVACY_EN = """# Privacy policy
This policy explains how the franchise headquarters and its franchised stores collect, use and protect your personal information.

# What we collect
- What membership, purchases, delivery and after-sales service need: name, mobile number, address, purchase history;
- What you choose to give: birthday, occupation, interests and buying habits (only with your consent);
- What you write when you complain, make a suggestion or answer a satisfaction survey.

# How we use it
Only to provide and improve products and service, to handle your complaints, and for return visits and member-event invitations. Without your consent it is not used for advertising and never given to a third party.

# How we protect it
Lawfully, legitimately and only as necessary; regular backups; encryption in transit and at rest; strict access rights, so that only authorised staff read customer files.

# Your rights
You may see, correct or ask us to erase your information, and withdraw your consent, at any time: ask the store where you joined, or headquarters' customer-service hotline."""

MANUAL_V1 = """# 前言
本手册介绍特许经营总部顾客满意度管理的运作方式，为加盟商提供顾客满意度管理的参考依据和管理表格。本手册是特许经营合同附件三所列“特许经营配套”的一项。

# 第一章 手册属性
- 本手册的内容与知识产权归特许经营总部所有；
- 手册只供特许人、总部成员及经批准的使用者阅读，其他人须取得书面授权；
- 不得复印、翻印本手册，也不得以口头传达、录音或其他方式将内容转告他人；
- 每一份手册都有列号，总部据此认明须归还手册的持有人；
- 手册遗失、被盗或损坏，须立即向总部报告。

# 第二章 目的与适用范围
以顾客满意为评价我们工作的唯一标准。本手册适用于总部各部门及全体加盟门店的全体员工。

# 第三章 作业流程
## 顾客信息收集
门店在接待、成交、送货和售后服务中收集顾客信息，建立并维护顾客档案。
## 顾客满意度调查
总部每半年组织一次满意度调查，门店配合发放与回收问卷。
## 投诉处理
接到投诉后按承诺时限回复，重大投诉上报总部联合处理。"""

MANUAL_V2_SUMMARY = "第三章增加“回访与关怀”；投诉时限与投诉处理规范一致"
MANUAL_V2_EXTRA = """
## 回访与关怀
成交后七日内完成首次回访；VIP 顾客每季度至少一次关怀拜访，并记录在顾客档案中。"""

MANUAL_EN = """# Foreword
This manual describes how headquarters manages customer satisfaction and gives franchisees its references and forms. It is one item of the franchise package listed in annex 3 of the franchise contract.

# Chapter 1 About this manual
- The manual and its intellectual property belong to headquarters;
- Only the franchisor, headquarters and approved users read it; anyone else needs written authorisation;
- Do not copy or photocopy it, nor pass its content on by word of mouth, recording or any other way;
- Every copy carries a serial number that tells headquarters who must return it;
- Report a lost, stolen or damaged copy to headquarters at once."""

POLICY = """# 客户体验管理方针
以客户为中心，全员参与，持续改进，合规经营。

# 目标
- 客户满意度指数逐年提升；
- 重大投诉按时办结率 100%；
- 关键接触点稽核全部达标。"""

POLICY_EN = """# Customer-experience policy
Customer-centred, everyone involved, always improving, within the law.

# Goals
- The satisfaction index rises every year;
- 100 % of major complaints closed on time;
- Every key touchpoint passes its audits."""


def _user(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == username))


def seed_governance() -> int:
    if db.session.scalar(select(Manual.id).limit(1)) is not None:
        return 0
    admin, auditor = _user("hq-admin"), _user("hq-auditor")
    if admin is None or auditor is None:
        return 0
    created = 0
    # The privacy policy in force (consents recorded from now on name it).
    policy = privacy.new_draft(admin)
    privacy.edit(policy, {"summary": "首次发布", "body_zh": PRIVACY_ZH, "body_en": PRIVACY_EN})
    privacy.publish(policy, admin)
    created += 1

    # The customer-satisfaction manual: version 1, then version 2 in force; copies to the owners,
    # a store manager and headquarters; owner-b's first copy lost and reissued.
    manual = manuals.create_manual({"code": "FM-CS", "title_zh": "顾客满意度管理手册",
                                    "title_en": "Customer satisfaction management manual", "kind": "manual",
                                    "summary": "首版", "body_zh": MANUAL_V1, "body_en": MANUAL_EN}, auditor)
    manuals.publish(manuals.draft_of(manual), auditor)
    holders = [_user(name) for name in ("owner-a", "manager-a1", "owner-b", "owner-c", "hq-auditor")]
    copies = {u.username: manuals.issue(manual, u, auditor) for u in holders if u is not None}
    for name in ("owner-a", "manager-a1", "owner-b"):
        if name in copies:
            manuals.acknowledge(copies[name], copies[name].holder)
    draft = manuals.new_draft(manual, auditor)
    manuals.edit_draft(draft, {"summary": MANUAL_V2_SUMMARY, "body_zh": MANUAL_V1 + MANUAL_V2_EXTRA,
                               "body_en": MANUAL_EN})
    manuals.publish(draft, auditor)
    if "manager-a1" in copies:
        manuals.acknowledge(copies["manager-a1"], copies["manager-a1"].holder)
    if "owner-b" in copies:
        manuals.close(copies["owner-b"], "lost", "门店搬迁时遗失，已报告总部", copies["owner-b"].holder)
        manuals.reissue(copies["owner-b"], auditor)
    policy_manual = manuals.create_manual({"code": "POL-CX", "title_zh": "客户体验管理方针",
                                           "title_en": "Customer-experience policy", "kind": "policy",
                                           "summary": None, "body_zh": POLICY, "body_en": POLICY_EN}, auditor)
    # The policy takes effect by the committee's approval (R4); its next version waits for it.
    committee = _user("hq-viewer")
    if committee is not None:
        from app.services import approvals

        request = approvals.submit("policy", manuals.draft_of(policy_manual), auditor, "首版，请委员会审批")
        approvals.comment(request, committee, "目标中请补充首次响应时限。")
        approvals.decide(request, committee, "approve", "同意发布，下一版补充响应时限。", request.fingerprint)
        second = manuals.new_draft(policy_manual, auditor)
        manuals.edit_draft(second, {"summary": "补充投诉首次响应时限",
                                    "body_en": POLICY_EN + "\n- A first answer to every complaint within 24 hours.",
                                    "body_zh": POLICY + "\n- 投诉 24 小时内首次响应。"})
        approvals.submit("policy", second, auditor, "按委员会意见补充")
    created += 2 + len(copies)

    # The channels offered to customers (R73): where they are reached, checked every month; the
    # social-media account's last check failed, the mailbox has never been checked.
    from app.models import ComplaintChannel
    from app.services.governance import channels

    contacts = {"phone": ("400-820-8820 服务热线", 30, True), "email": ("service@yezhifeng.example.cn", 30, None),
                "online": ("官网在线客服 www.yezhifeng.example.cn/kefu", 30, True),
                "social": ("微信公众号 业之峰家居服务", 14, False), "web_form": ("各门店收银台二维码", 90, True)}
    for channel in db.session.scalars(select(ComplaintChannel).where(ComplaintChannel.code.in_(contacts))):
        contact, every, result = contacts[channel.code]
        channels.save_settings(channel, {"contact": contact, "publicised": True, "check_every_days": every}, auditor)
        if result is not None:
            channels.record_check(channel, result, None if result else "公众号留言入口已关闭，消息无法发送",
                                  local_today() - timedelta(days=every // 2), auditor)
    created += len(contacts)

    # Announcements: one to every store (owner-a has acknowledged), one to a region, one draft.
    every = announcements.save_draft(None, {
        "title": "关于春节期间门店服务安排的通知", "audience": "all", "needs_ack": True,
        "ack_by": local_today() + timedelta(days=7),
        "body": "各加盟门店：\n\n春节期间（除夕至初三）门店营业时间调整为 10:00–18:00，投诉热线照常值守。\n\n"
                "- 节前完成库存盘点；\n- 假期送货须提前与顾客确认时间；\n- 重大投诉当日上报总部。"}, [], auditor)
    announcements.publish(every, auditor)
    owner_a = _user("owner-a")
    if owner_a is not None:  # in owner-a's own scope, as the portal does it
        from app.security.scope import build_scope
        from app.security.tenancy import SCOPE_KEY, activate

        previous = db.session.info.get(SCOPE_KEY)
        activate(build_scope(owner_a))
        try:
            announcements.mark_read(every, owner_a)
            announcements.acknowledge(every, owner_a)
        finally:
            activate(previous)
    region = db.session.scalar(select(Region).order_by(Region.id))
    if region is not None:
        regional = announcements.save_draft(None, {
            "title": f"{region.name}神秘顾客稽核安排", "audience": "region", "region_id": region.id,
            "needs_ack": False, "ack_by": None,
            "body": "下月起本区域每家门店将接受一次神秘顾客稽核，重点检查接待礼仪与售后回访。"}, [], auditor)
        announcements.publish(regional, auditor)
    announcements.save_draft(None, {
        "title": "新版顾客满意度管理手册已发布", "audience": "all", "needs_ack": True, "ack_by": None,
        "body": "顾客满意度管理手册第 2 版已发布，请各持有人登录门户确认。"}, [], auditor)
    created += 3
    db.session.flush()
    return created


def seed_improvement() -> int:
    """Improvement projects and the feedback-to-improvement cycle (issue 15): suggestions and
    praise classified, some screened into projects; projects at each step of the cycle, from a
    complaint's CAPA, a suggestion, an audit finding, a KPI warning and a report's answer."""
    from flask import current_app

    from app.models import Complaint, CorrectiveAction, ImprovementProject, KpiWarning
    from app.services.governance import projects

    if db.session.scalar(select(ImprovementProject.id).limit(1)) is not None:
        return 0
    auditor, logistics, service = _user("hq-auditor"), _user("hq-logistics"), _user("hq-dept")
    if auditor is None:
        return 0
    today = local_today()
    created = 0
    with current_app.test_request_context():
        feedback = db.session.scalars(select(Complaint).where(Complaint.feedback_state == "new")
                                      .order_by(Complaint.received_at).limit(12)).all()
        # Most of them classified; the newest few left for headquarters to classify. The first
        # suggestion asking for online booking of measuring visits is screened into a project.
        screened = None
        for number, item in enumerate(feedback[:8]):
            if item.kind == "praise":
                projects.classify(item, "positive", "low", None, auditor, no_action=True)
            elif screened is None and "预约" in item.title:
                projects.classify(item, "negative", "high", None, auditor)
                screened = item
            else:
                projects.classify(item, "negative", "high" if number % 3 == 0 else "medium", None, auditor,
                                  no_action=number % 2 == 0)

        # 1. From a complaint's CAPA: being implemented, two departments with their parts (R74).
        # The major late-delivery complaints have their root cause and actions on file; the first
        # is the project's source, the others show the form's prefill when a project is opened.
        late = db.session.scalars(select(Complaint).where(Complaint.kind == "complaint", Complaint.severity == "major",
                                                          Complaint.title.like("%送货延误%")).order_by(Complaint.id)).all()
        for complaint in late:
            complaint.root_cause = "门店按统一的 3 天承诺送货，未核对区域仓库的实际配送能力。"
            complaint.corrective_action = "向顾客致歉并补偿运费，当日安排专车送达。"
            complaint.preventive_action = "按区域核定配送时效，门店按核定时效向顾客承诺。"
            complaint.capa_owner, complaint.capa_due_on = "钱磊", today + timedelta(days=30)
        capa = late[0] if late else db.session.scalar(select(Complaint).where(
            Complaint.kind == "complaint", Complaint.severity == "major").order_by(Complaint.id).limit(1))
        delivery = projects.create({
            "title": "送货时间承诺与实际不符的改进", "department": "logistics", "owner_name": "钱磊",
            "goal": "送货准时率由 86% 提升到 95% 以上；因送货延误的投诉每季度减少一半。",
            "impact": "high", "due_on": today + timedelta(days=75),
            "root_cause": "门店按统一的 3 天承诺送货，未考虑各区域仓库的实际配送能力；配送单未回传门店。",
            "measures": "- 按区域重新核定配送时效，门店按核定时效承诺；\n- 配送单状态每日回传门店；\n"
                        "- 更新销售承诺话术并培训门店员工。"},
            auditor, projects.find_source("complaint", capa.id) if capa else None)
        db.session.flush()
        projects.add_part(delivery, "logistics", "按区域重新核定配送时效并发布", today + timedelta(days=30), auditor)
        training = projects.add_part(delivery, "customer_service", "更新承诺话术，完成门店员工培训",
                                     today + timedelta(days=45), auditor)
        projects.advance(delivery, "implementation", auditor)
        db.session.flush()
        db.session.refresh(delivery)
        if service is not None:
            db.session.flush()
            projects.complete_part(training, "新话术已发布到手册第 3 章；25 家门店完成培训，考核通过率 96%。", service)
        projects.report_progress(delivery, "华东区域时效核定完成，其余区域本月内完成。", 40, logistics or auditor)
        created += 1

        # 2. From a customer's suggestion, screened in: the root cause is being analysed.
        if screened is not None:
            projects.create({"title": "顾客建议：提供线上预约上门量尺", "department": "cx", "owner_name": "孙丽",
                             "goal": "顾客可在线预约量尺时段；预约到上门的等待时间不超过 3 天。", "impact": "high",
                             "due_on": today + timedelta(days=60)},
                            auditor, projects.find_source("feedback", screened.id))
            created += 1

        # 3. From a mystery-shopper finding: evaluated and completed.
        from app.models import TemplateItem

        finding = db.session.scalar(select(CorrectiveAction).join(TemplateItem, TemplateItem.id == CorrectiveAction.item_id)
                                    .where(TemplateItem.text_zh.like("%进店%"), CorrectiveAction.status != "withdrawn")
                                    .order_by(CorrectiveAction.id).limit(1))
        greeting = projects.create({
            "title": "进店问候与需求询问不到位", "department": "hr", "owner_name": "李娜",
            "goal": "稽核“接待礼仪”项通过率达到 90%。", "impact": "medium", "due_on": today + timedelta(days=20),
            "root_cause": "新员工入职培训未包含接待礼仪实操。", "measures": "入职培训增加接待礼仪实操与考核。"},
            auditor, projects.find_source("audit_finding", finding.id) if finding else None)
        db.session.flush()
        projects.add_part(greeting, "hr", "修订入职培训课程并组织补训", today + timedelta(days=10), auditor)
        projects.advance(greeting, "implementation", auditor)
        db.session.flush()
        db.session.refresh(greeting)
        projects.complete_part(greeting.parts[0], "入职培训已加入 2 学时接待礼仪实操，已补训 48 人。", auditor)
        projects.report_progress(greeting, "补训完成，待下季度稽核验证。", 90, auditor)
        db.session.flush()
        db.session.refresh(greeting)
        projects.advance(greeting, "evaluation", auditor)
        db.session.flush()
        db.session.refresh(greeting)
        projects.evaluate(greeting, "effective", "下季度稽核“接待礼仪”项通过率由 72% 升至 93%，达到目标。", auditor)
        created += 1

        # 4. From a KPI warning: the plan is overdue.
        warning = db.session.scalar(select(KpiWarning).where(KpiWarning.kpi == "repeat_rate").order_by(KpiWarning.id)
                                    .limit(1))
        late = projects.create({
            "title": "复购率低于阈值门店的会员关怀计划", "department": "marketing",
            "goal": "预警门店的复购率回到阈值以上。", "impact": "medium", "due_on": today + timedelta(days=1),
            "root_cause": "会员生日关怀与回访未按计划执行。"},
            auditor, projects.find_source("kpi_warning", warning.id) if warning else None)
        db.session.flush()
        late.due_on = today - timedelta(days=5)  # (an overdue project, as the register shows it)
        created += 1
    db.session.flush()
    return created
