"""All models, imported here so Alembic and the application see one metadata."""
from app.models.audit import AuditEvent
from app.models.complaint import (
    CalendarDay, Complaint, ComplaintAttachment, ComplaintCategory, ComplaintChannel, ComplaintEvent, ComplaintTask, DeadlineRule,
    ComplaintThreshold, EscalationLevel, ThresholdNotice,
)
from app.models.mystery import (
    AuditAnswer, AuditPhoto, AuditQuarterStats, AuditScoreChange, AuditTemplate, CorrectiveAction, StoreAudit,
    TemplateItem, TemplateSection, Touchpoint,
)
from app.models.logistics import DeliveryMonthStats, LogisticsPartner, Shipment
from app.models.kpi import EvaluationScheme, KpiThreshold, KpiWarning, StoreEvaluation, StoreKpi
from app.models.notification import Delivery, Notification
from app.models.customer import CareTask, Contact, Customer, CustomerSequence, DuplicateCandidate, NotDuplicate, Purchase
from app.models.customer_file import CustomerAnalysis, LoyaltyAssessment
from app.models.customer_rules import CareHoliday, CustomerImport, CustomerRules, MembershipTier
from app.models.loyalty import PointsEntry, PointsSpend, PurchaseReturn, Redemption, Reward
from app.models.event import Club, ClubMember, EventGuest, MemberEvent
from app.models.offer import Coupon, Offer
from app.models.relationship import (
    CustomerLoss, CustomerRelationship, LostOrder, LostReason, RelationshipReview,
)
from app.models.org import Franchisee, Region, Store, StoreOwnership
from app.models.stats import ComplaintMonthStats, StoreMonthStats, StoreStats
from app.models.survey import (
    Questionnaire, SurveyIndicator, SurveyInvitation, SurveyNote, SurveyProject, SurveyQuestion, SurveyQuestionStats,
    SurveyResponse, SurveyStep, SurveyStoreStats,
)
from app.models.report import Report, ReportBatch, ReportBatchItem, ReportFile, ReportRecipient, ReportSchedule
from app.models.system import CacheStamp, FormReceipt
from app.models.training import (
    Appraisal, AppraisalIndicator, AppraisalPeriod, Attendance, Certificate, Course, CourseRequirement, Employee,
    EmployeeCourse, EmployeeMove, Incentive, PlanEntry, Position, SessionStore, StaffingNorm, StoreTeamStats,
    TrainingPlan, TrainingSession,
)
from app.models.governance import (
    Announcement, AnnouncementReceipt, Approval, ApprovalComment, ChannelCheck, ImprovementProject, Manual, ManualCopy, ManualCopyEvent, ManualVersion, PrivacyPolicy,
    ProjectPart, ProjectSource, ProjectUpdate,
)
from app.models.user import User, UserSession

__all__ = [
    "Announcement", "AnnouncementReceipt", "Approval", "ApprovalComment", "ChannelCheck", "ImprovementProject", "Manual", "ManualCopy", "ManualCopyEvent", "ManualVersion",
    "PrivacyPolicy", "ProjectPart", "ProjectSource", "ProjectUpdate",
    "PointsEntry", "PointsSpend", "PurchaseReturn", "Redemption", "Reward", "Coupon", "Offer",
    "Club", "ClubMember", "EventGuest", "MemberEvent",
    "CustomerLoss", "CustomerRelationship", "LostOrder", "LostReason", "RelationshipReview",
    "Report", "ReportBatch", "ReportBatchItem", "ReportFile", "ReportRecipient", "ReportSchedule",
    "DeliveryMonthStats", "LogisticsPartner", "Shipment",
    "EvaluationScheme", "KpiThreshold", "KpiWarning", "StoreEvaluation", "StoreKpi",
    "Questionnaire", "SurveyIndicator", "SurveyInvitation", "SurveyProject", "SurveyQuestion", "SurveyQuestionStats",
    "SurveyResponse", "SurveyStep", "SurveyStoreStats", "SurveyNote",
    "Appraisal", "AppraisalIndicator", "AppraisalPeriod", "Attendance", "Certificate", "Course", "CourseRequirement",
    "Employee", "EmployeeCourse", "EmployeeMove", "Incentive", "PlanEntry", "Position", "SessionStore",
    "StaffingNorm", "StoreTeamStats", "TrainingPlan", "TrainingSession",
    "AuditAnswer", "AuditPhoto", "AuditQuarterStats", "AuditScoreChange", "AuditTemplate", "CorrectiveAction",
    "StoreAudit", "TemplateItem", "TemplateSection", "Touchpoint",
    "CalendarDay", "Complaint", "ComplaintThreshold", "ThresholdNotice", "ComplaintMonthStats", "ComplaintAttachment", "Delivery", "EscalationLevel", "Notification", "ComplaintCategory", "ComplaintChannel", "ComplaintEvent", "ComplaintTask", "DeadlineRule",
    "AuditEvent", "CustomerAnalysis", "LoyaltyAssessment", "CacheStamp", "FormReceipt", "CareHoliday", "CareTask", "DuplicateCandidate", "StoreMonthStats", "StoreStats", "Contact", "Customer", "CustomerImport", "CustomerRules",
    "CustomerSequence", "MembershipTier", "NotDuplicate", "Purchase", "Franchisee", "Region", "Store", "StoreOwnership", "User", "UserSession"]
