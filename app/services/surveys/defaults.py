"""The questionnaires of the source documents, installed once (issue 12).

- ``CSI``: seed 004's "露露"客户满意度调查问卷 - seven five-point items feeding the indicators
  A-G with weights 20/20/20/10/10/15/5, in the document's order (item 6 feeds G, item 7 feeds
  F, R41), then "have you bought our product", "why not" and "suggestions".
- ``POST``: the four-question post-purchase survey of seed 004's Amazon case (R46), yes/no,
  without an index.

Both are installed as drafts: like every questionnaire, they take effect when the
customer-experience committee approves them (R4).
"""
from decimal import Decimal

from sqlalchemy import select

from app.extensions import db
from app.models.survey import Questionnaire, SurveyIndicator, SurveyQuestion
from app.security.tenancy import unscoped

INDICATORS = (
    ("A", "品牌与形象", "Brand and image", 20),
    ("B", "质量", "Quality", 20),
    ("C", "价格", "Price", 20),
    ("D", "售后服务质量", "After-sales service quality", 10),
    ("E", "退货处理情况", "Returns handling", 10),
    ("F", "投诉处理", "Complaint handling", 15),
    ("G", "沟通与宣传", "Communication and publicity", 5),
)
# (kind, indicator, zh, en) in the document's order. Item 1's wording is cut off in the seed
# ("您对我…"); it is completed after items 2-7.
QUESTIONS = (
    ("scale", "A", "您对我们的品牌与形象是否满意？", "How satisfied are you with our brand and image?"),
    ("scale", "B", "您对我们产品的质量是否满意？", "How satisfied are you with the quality of our products?"),
    ("scale", "C", "您对我们产品的价格是否满意？", "How satisfied are you with the price of our products?"),
    ("scale", "D", "您对我们的售后服务质量是否满意？", "How satisfied are you with our after-sales service?"),
    ("scale", "E", "您对我们的退货处理是否满意？", "How satisfied are you with how we handle returns?"),
    ("scale", "G", "您对我们产品的沟通与宣传是否满意？",
     "How satisfied are you with how we communicate about and publicise our products?"),
    ("scale", "F", "您对我们的投诉处理是否满意？", "How satisfied are you with how we handle complaints?"),
    ("yes_no", None, "是否购买过本产品？", "Have you ever bought our products?"),
    ("text", None, "不选择购买的原因是？", "If not, why did you choose not to buy?"),
    ("text", None, "对我们的建议？", "Your suggestions to us"),
)
POST_PURCHASE = (
    ("您对这次购物的总体体验满意吗？", "Are you satisfied with this shopping experience overall?"),
    ("您对这次订单的配送满意吗？", "Are you satisfied with the delivery of this order?"),
    ("未来三个月内您还会在我们这里购物吗？", "Will you shop with us again within the next three months?"),
    ("您会向亲友推荐我们吗？", "Would you recommend us to others?"),
)


def install() -> Questionnaire:
    """The two questionnaires, unless they exist; returns the index questionnaire (its latest
    edition)."""
    with unscoped():
        existing = db.session.scalar(select(Questionnaire).where(Questionnaire.code == "CSI")
                                     .order_by(Questionnaire.edition.desc()).limit(1))
        if existing is None:
            existing = Questionnaire(
                code="CSI", edition=1, kind="index", status="draft",
                name_zh="客户满意度调查问卷", name_en="Customer satisfaction questionnaire",
                intro_zh="感谢您抽出宝贵时间填写本问卷。您的意见将帮助我们改进产品和服务。",
                intro_en="Thank you for taking the time to answer. What you tell us helps us improve our products "
                         "and service.")
            by_code = {}
            for code, zh, en, weight in INDICATORS:
                by_code[code] = SurveyIndicator(code=code, name_zh=zh, name_en=en, weight=Decimal(weight))
                existing.indicators.append(by_code[code])
            for position, (kind, code, zh, en) in enumerate(QUESTIONS, start=1):
                existing.questions.append(SurveyQuestion(
                    position=position, kind=kind, text_zh=zh, text_en=en, indicator=by_code.get(code),
                    required=kind != "text"))
            db.session.add(existing)
        if db.session.scalar(select(Questionnaire.id).where(Questionnaire.code == "POST").limit(1)) is None:
            post = Questionnaire(code="POST", edition=1, kind="post_purchase", status="draft",
                                 name_zh="购物体验回访（四问）", name_en="Post-purchase survey (four questions)",
                                 intro_zh="感谢您的购买！请花一分钟回答四个问题。",
                                 intro_en="Thank you for your purchase! Four quick questions.")
            for position, (zh, en) in enumerate(POST_PURCHASE, start=1):
                post.questions.append(SurveyQuestion(position=position, kind="yes_no", text_zh=zh, text_en=en))
            db.session.add(post)
        db.session.flush()
        return existing
