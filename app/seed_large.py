"""A large, realistic, reproducible network for performance work: ``flask --app wsgi seed large``.

Defaults: 30 regions, 150 franchisees, 1,000 stores, 1,000,000 customers, about
4,400,000 purchases and 600,000 contacts, loaded in minutes into SQLite or
PostgreSQL. One ``random.Random(seed)`` drives every choice and every date is
relative to today (``local_today()``), so the same seed gives the same
network and churn warnings, care lists and birthdays are never empty.

What is loaded, in order:

1. the demo seed (``app.seed.seed_demo``) if the database has no users, so the
   demo accounts exist; its franchisees, stores and customers stay as they are;
2. ``--regions`` regions named after real areas (华北一区, 华东二区 …, codes HB1,
   HD2 …), ``--franchisees`` franchisees with Chinese company names, each
   working in one home region, and ``--stores`` stores spread over them with a
   skew: a few franchisees have 20–40 stores, most have 1–5. Store codes are
   the city's letters and a number (CD002, SH014 …, never a demo code); each
   store has one ownership period starting on its opening day;
3. customers with a long-tailed number per store, and for each customer the
   purchases of their last three years (many have 0–2, VIPs 20–60; 4.4 on
   average) and contacts (0.6 on average: return visits after purchases,
   routine calls, win-back calls, birthday greetings). About 0.3 % of the
   records reuse the mobile number of an earlier customer of the same
   franchisee, and about 0.1 % each repeat a name and birthday or write the
   surname with a homophone, so the duplicates page has work to do.

The demo franchisee of ``owner-a`` (悦家生活（华东）) becomes one of the large
ones: with N customers requested it gets ``round(N × 1.31 %)`` of them
(13,100 of 1,000,000: with the demo's 900 about 14,000), in extra stores of the
demo region 华东区 (about 2.2 % of ``--stores``) and in the store of
``manager-a1`` (上海徐汇店), which gets ``round(N × 0.12 %)`` new customers
(1,200: with the demo's 300 about 1,500). The new customers count towards
``--customers`` and the extra stores towards ``--stores``.

Rows are generated store by store in a background thread and written by the
main one in batches of 20,000 customers (SQLite: one ``executemany`` per table;
PostgreSQL: ``COPY``), each batch committed, with ids assigned here (above the
current maximum) so purchases and contacts name their customer without reading
it back. While loading, the secondary indexes of customer, purchase and contact
and the trigram name index are dropped and built again at the end (one sort
each instead of millions of random inserts), and SQLite skips fsync (see
``_BulkMode``); on PostgreSQL the id sequences are moved past the ids used.
Derived columns (purchase count, spend, churn flags, care date …) are left at
their defaults and computed afterwards by ``services/network_jobs.rebuild_all``.
The load refuses a database that already holds more than the demo's customers.

Tests call ``load(..., commit=False)``: nothing is committed and no index is
touched, so the test's transaction rolls everything back.
"""
from __future__ import annotations

import hashlib
import queue
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from pypinyin import lazy_pinyin
from sqlalchemy import event, func, insert, select, text, update

from app.extensions import db
from app.models import (
    Contact, Customer, CustomerRules, CustomerSequence, Franchisee, Purchase, Region, Store, StoreOwnership, User,
)
from app.models.base import utcnow, local_today
from app.seed_customers import HOMOPHONES, ITEM_TYPES, ITEMS, MOBILE_PREFIXES, OUTCOMES
from app.services import addresses
from app.services.customer_fields import name_key

# More customers than this and the database is not a fresh demo: refuse.
MAX_EXISTING_CUSTOMERS = 10_000
BATCH_CUSTOMERS = 20_000
# owner-a's franchisee and manager-a1's store: their share of the new customers.
OWNER_A_SHARE = 0.0131
MANAGER_A1_SHARE = 0.0012
OWNER_A_STORE_SHARE = 0.022
DEMO_REGION = "EAST"
HISTORY_DAYS = 1090  # customers and purchases: the last three years

# --- places ----------------------------------------------------------------------
# city: (code letters, postal prefix, province alias, districts, roads)
CITIES = {
    "北京": ("BJ", "100", "京津", "朝阳区 海淀区 东城区 西城区 丰台区 通州区", "建国路 中关村大街 王府井大街 西单北大街 望京街 方庄路 亚运村北辰路"),
    "天津": ("TJ", "300", "京津", "和平区 南开区 河西区 滨海新区", "南京路 滨江道 友谊路 卫津路 黄河道"),
    "廊坊": ("LF", "065", "燕赵", "广阳区 安次区", "新华路 和平路 银河北路 金光道"),
    "石家庄": ("SJZ", "050", "燕赵", "长安区 桥西区 裕华区", "中山东路 裕华路 建设大街 槐安路"),
    "保定": ("BD", "071", "燕赵", "竞秀区 莲池区", "朝阳大街 东风路 七一路 阳光大街"),
    "唐山": ("TS", "063", "燕赵", "路北区 路南区", "新华道 建设路 北新道 学院路"),
    "太原": ("TY", "030", "三晋", "小店区 迎泽区 杏花岭区", "迎泽大街 亲贤街 长风街 并州路"),
    "大同": ("DT", "037", "三晋", "平城区 云冈区", "魏都大道 御河路 永泰街"),
    "呼和浩特": ("HHT", "010", "内蒙", "新城区 赛罕区", "中山路 新华大街 昭乌达路"),
    "包头": ("BT", "014", "内蒙", "昆都仑区 青山区", "钢铁大街 阿尔丁大街 友谊大街"),
    "沈阳": ("SY", "110", "辽沈", "和平区 沈河区 浑南区 皇姑区", "太原街 中街路 青年大街 北陵大街 三好街"),
    "大连": ("DL", "116", "辽沈", "中山区 沙河口区 甘井子区", "人民路 西安路 中山路 黄河路"),
    "长春": ("CC", "130", "吉黑", "朝阳区 南关区 绿园区", "重庆路 红旗街 人民大街 桂林路"),
    "哈尔滨": ("HRB", "150", "吉黑", "道里区 南岗区 香坊区", "中央大街 西大直街 学府路 红旗大街"),
    "上海": ("SH", "200", "沪上", "徐汇区 静安区 浦东新区 黄浦区 长宁区 闵行区 杨浦区 普陀区",
             "淮海中路 南京西路 漕溪北路 世纪大道 七莘路 四平路 长寿路 天山路 张杨路 五角场"),
    "南京": ("NJ", "210", "金陵", "秦淮区 鼓楼区 玄武区 建邺区 江宁区", "中山南路 湖南路 珠江路 江东中路 河定桥路 新街口"),
    "苏州": ("SU", "215", "苏南", "姑苏区 工业园区 吴中区 相城区", "观前街 星海街 石路 东环路 木渎大街"),
    "无锡": ("WX", "214", "苏南", "梁溪区 滨湖区 新吴区", "中山路 人民中路 太湖大道 长江路"),
    "常州": ("CZ", "213", "苏南", "天宁区 钟楼区 新北区", "延陵西路 南大街 通江中路 怀德中路"),
    "徐州": ("XZ", "221", "苏北", "云龙区 鼓楼区 泉山区", "淮海东路 彭城路 中山北路 解放南路"),
    "南通": ("NT", "226", "苏北", "崇川区 通州区", "南大街 工农路 青年中路 人民中路"),
    "扬州": ("YZ", "225", "苏北", "广陵区 邗江区", "文昌中路 汶河南路 扬子江北路"),
    "杭州": ("HZ", "310", "钱塘", "西湖区 上城区 拱墅区 滨江区 萧山区", "文三路 延安路 湖滨路 武林路 江南大道 市心中路"),
    "宁波": ("NB", "315", "甬城", "海曙区 鄞州区 江北区", "中山西路 天一街 四明中路 钱湖北路"),
    "温州": ("WZ", "325", "瓯越", "鹿城区 瓯海区", "五马街 人民路 车站大道 温州大道"),
    "绍兴": ("SX", "312", "钱塘", "越城区 柯桥区", "解放北路 胜利东路 中兴路"),
    "嘉兴": ("JX", "314", "钱塘", "南湖区 秀洲区", "中山东路 江南路 秀洲大道"),
    "合肥": ("HF", "230", "江淮", "蜀山区 庐阳区 包河区", "长江西路 淮河路 马鞍山路 潜山路 徽州大道"),
    "芜湖": ("WHU", "241", "江淮", "镜湖区 弋江区", "中山路 北京中路 九华山路"),
    "济南": ("JN", "250", "齐鲁", "历下区 市中区 槐荫区", "泉城路 经十路 解放路 经四路"),
    "淄博": ("ZB", "255", "齐鲁", "张店区 淄川区", "人民西路 柳泉路 华光路"),
    "青岛": ("QD", "266", "胶东", "市南区 市北区 崂山区 黄岛区", "香港中路 台东三路 辽阳西路 长江中路"),
    "烟台": ("YT", "264", "胶东", "芝罘区 莱山区", "南大街 环山路 迎春大街"),
    "潍坊": ("WF", "261", "胶东", "奎文区 潍城区", "东风东街 胜利东街 福寿街"),
    "福州": ("FZ", "350", "八闽", "鼓楼区 台江区 仓山区", "五四路 东街 八一七中路 工业路"),
    "厦门": ("XM", "361", "鹭岛", "思明区 湖里区 集美区", "中山路 湖滨南路 嘉禾路 仙岳路"),
    "泉州": ("QZ", "362", "八闽", "丰泽区 鲤城区 洛江区", "泉秀路 中山中路 刺桐路"),
    "武汉": ("WH", "430", "荆楚", "江汉区 武昌区 洪山区 江岸区", "解放大道 中山大道 中南路 珞喻路 建设大道"),
    "宜昌": ("YC", "443", "荆楚", "西陵区 伍家岗区", "解放路 东山大道 夷陵大道"),
    "襄阳": ("XY", "441", "荆楚", "樊城区 襄城区", "人民路 长征路 春园路"),
    "长沙": ("CS", "410", "湖湘", "芙蓉区 天心区 岳麓区 开福区", "五一大道 黄兴路 解放西路 麓谷大道 芙蓉中路"),
    "株洲": ("ZHZ", "412", "湖湘", "天元区 芦淞区 荷塘区", "建设中路 新华路 长江南路"),
    "郑州": ("ZZ", "450", "中原", "金水区 二七区 中原区 郑东新区", "花园路 二七路 中原路 商务内环路 农业路"),
    "洛阳": ("LY", "471", "中原", "涧西区 西工区 老城区", "中州中路 南昌路 九都路"),
    "南昌": ("NC", "330", "赣鄱", "东湖区 西湖区 红谷滩区", "中山路 八一大道 红谷中大道 北京西路"),
    "赣州": ("GAZ", "341", "赣鄱", "章贡区 南康区", "文清路 红旗大道 章江路"),
    "广州": ("GZ", "510", "岭南", "天河区 越秀区 海珠区 番禺区 白云区", "天河路 北京路 江南西路 体育西路 中山五路 上下九路 机场路"),
    "佛山": ("FS", "528", "岭南", "禅城区 南海区 顺德区", "祖庙路 季华五路 桂澜路 佛山大道"),
    "深圳": ("SZ", "518", "鹏城", "福田区 南山区 罗湖区 宝安区 龙岗区", "深南中路 华强北路 东门中路 南海大道 宝安大道 龙岗大道"),
    "东莞": ("DG", "523", "岭南", "南城区 东城区 莞城区", "鸿福路 东城中路 莞太路 宏远路"),
    "惠州": ("HUZ", "516", "岭南", "惠城区 惠阳区", "麦地路 文昌一路 演达大道"),
    "珠海": ("ZH", "519", "珠江", "香洲区 金湾区", "情侣中路 凤凰北路 迎宾南路"),
    "中山": ("ZS", "528", "珠江", "石岐区 东区", "孙文西路 兴中道 中山四路"),
    "汕头": ("ST", "515", "潮汕", "龙湖区 金平区", "长平路 金砂路 中山路"),
    "南宁": ("NN", "530", "八桂", "青秀区 兴宁区 西乡塘区", "民族大道 朝阳路 东葛路 友爱南路"),
    "桂林": ("GL", "541", "八桂", "秀峰区 七星区", "中山中路 解放西路 漓江路"),
    "海口": ("HK", "570", "琼州", "龙华区 美兰区", "国贸路 海秀路 滨海大道 解放西路"),
    "三亚": ("SYA", "572", "琼州", "吉阳区 天涯区", "解放路 迎宾路 三亚湾路"),
    "成都": ("CD", "610", "天府", "锦江区 武侯区 青羊区 成华区 高新区", "春熙路 红星路 人民南路 建设路 天府大道 盐市口"),
    "绵阳": ("MY", "621", "天府", "涪城区 游仙区", "临园路 剑南路 长虹大道"),
    "重庆": ("CQ", "400", "巴渝", "渝中区 江北区 南岸区 沙坪坝区 九龙坡区 渝北区",
             "民权路 建新北路 南坪西路 小龙坎正街 杨家坪正街 金开大道"),
    "昆明": ("KM", "650", "滇黔", "五华区 盘龙区 官渡区", "南屏街 北京路 东风东路 春城路"),
    "贵阳": ("GY", "550", "滇黔", "云岩区 南明区 观山湖区", "中华北路 遵义路 延安中路 长岭北路"),
    "西安": ("XA", "710", "三秦", "雁塔区 碑林区 新城区 未央区", "小寨东路 东大街 解放路 凤城八路 长安北路"),
    "兰州": ("LZ", "730", "陇上", "城关区 七里河区", "庆阳路 张掖路 西津西路"),
    "银川": ("YCH", "750", "塞上", "兴庆区 金凤区", "解放西街 北京中路 正源北街"),
    "西宁": ("XN", "810", "青海", "城东区 城中区 城西区", "西大街 五四大街 胜利路"),
    "乌鲁木齐": ("WLMQ", "830", "天山", "天山区 沙依巴克区 新市区", "中山路 友好南路 北京南路 光明路"),
}
# code, name, cities (the first is the biggest market), weight of the region's market
REGIONS = [
    ("HB1", "华北一区", "北京", 5), ("HB2", "华北二区", "天津 廊坊", 3), ("HB3", "华北三区", "石家庄 保定 唐山", 2),
    ("HB4", "华北四区", "太原 大同 呼和浩特 包头", 2), ("DB1", "东北一区", "沈阳 大连", 2), ("DB2", "东北二区", "哈尔滨 长春", 2),
    ("HD1", "华东一区", "上海", 5), ("HD2", "华东二区", "南京 苏州 无锡 常州", 4), ("HD3", "华东三区", "徐州 南通 扬州", 2),
    ("HD4", "华东四区", "杭州 绍兴 嘉兴", 4), ("HD5", "华东五区", "宁波 温州", 3), ("HD6", "华东六区", "合肥 芜湖", 2),
    ("HD7", "华东七区", "济南 淄博", 2), ("HD8", "华东八区", "青岛 烟台 潍坊", 3), ("DN1", "东南区", "福州 厦门 泉州", 3),
    ("HZ1", "华中一区", "武汉 宜昌 襄阳", 3), ("HZ2", "华中二区", "长沙 株洲", 3), ("HZ3", "华中三区", "郑州 洛阳", 3),
    ("HZ4", "华中四区", "南昌 赣州", 2), ("HN1", "华南一区", "广州 佛山", 4), ("HN2", "华南二区", "深圳 东莞 惠州", 4),
    ("HN3", "华南三区", "珠海 中山 汕头", 2), ("HN4", "华南四区", "南宁 桂林", 2), ("HN5", "海南区", "海口 三亚", 1),
    ("XN1", "西南一区", "成都 绵阳", 4), ("XN2", "西南二区", "重庆", 3), ("XN3", "西南三区", "昆明 贵阳", 2),
    ("XB1", "西北一区", "西安", 3), ("XB2", "西北二区", "兰州 银川 西宁", 1), ("XB3", "西北三区", "乌鲁木齐", 1),
]
# Where owner-a's extra stores open (the demo's 华东区).
OWNER_A_CITIES = ["上海", "上海", "上海", "杭州", "苏州", "南京", "无锡", "宁波", "嘉兴"]

# --- names -------------------------------------------------------------------------
# Surnames with their share in per-ten-thousand (roughly the 2020 census): 王李张刘陈 lead.
SURNAMES = (
    "王712 李700 张674 刘510 陈461 杨322 黄245 赵200 吴197 周193 徐151 孙137 马127 朱123 胡116 郭115 何113 林109 "
    "罗99 高98 郑92 梁90 谢83 宋70 唐70 许65 韩62 冯59 邓59 曹57 彭55 曾54 肖53 田52 董51 袁50 潘49 于48 蒋48 "
    "蔡47 余46 杜45 叶44 程43 苏42 魏41 吕40 丁39 任38 沈37 姚36 卢35 姜34 崔33 钟32 谭31 陆30 汪29 范28 金27 "
    "石26 廖25 贾24 夏23 韦22 付21 方20 白20 邹19 孟19 熊18 秦18 邱17 江17 尹16 薛16 闫15 段15 雷14 侯14 龙13 "
    "史13 陶12 黎12 贺12 顾11 毛11 郝10 龚10 邵10 万9 钱9 严9 覃8 武8 戴8 莫7 孔7 向7 汤7 欧阳3 司马1 诸葛1 上官1"
)
MALE_CHARS = "伟强磊军洋勇杰涛明超平刚辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林建国志文峰海东亮成阳晨博睿轩然哲子一天嘉泽豪"
FEMALE_CHARS = "芳娜敏静丽艳娟秀霞燕玲桂英兰萍红梅琳雪婷欣怡佳慧颖倩晶妍璐月莉洁琴云丹蕾薇彤萱涵雨诺悦思梓可馨"
# Whole given names that were popular when the customer was born (before 1975, 1975–1989, 1990 on).
ERA_NAMES = {
    ("male", 0): "建国 建华 国强 志强 建军 国庆 卫东 振华 德明 永红",
    ("female", 0): "秀英 桂英 秀兰 玉兰 淑珍 桂兰 凤英 秀珍 玉珍 丽华",
    ("male", 1): "伟 磊 勇 军 涛 斌 海涛 建平 志刚 晓东",
    ("female", 1): "丽娟 海燕 静 敏 芳 丽 艳 红梅 晓燕 丽萍",
    ("male", 2): "子轩 浩然 宇轩 俊杰 浩宇 一鸣 梓豪 博文 天宇 子豪",
    ("female", 2): "欣怡 梓涵 一诺 雨涵 思雨 佳怡 紫涵 诗涵 雨欣 可馨",
}
TRADES = ("鑫源 恒达 佳禾 和顺 瑞丰 金诚 宏图 嘉信 百汇 永盛 安泰 润家 禾木 雅居 鼎盛 万家 福满 久安 天和 广源 聚福 乐居 美佳 "
          "恒信 华美 锦程 隆兴 兴业 德丰 信达 宏远 合力 正阳 汇通 同心 骏达 益民 博雅 弘毅 尚品 悦居 家和 宁馨 康宁 富源 "
          "荣昌 泰和 长青 丰泽 明润 星悦 鸿运 瑞祥 盛达 祥和 金桥 华辰 恒泰 致远 安居 顺达 宜居 馨悦 嘉和 锦华").split()
FRANCHISE_KINDS = "生活 连锁 家居 家饰 居品 商贸 家纺".split()
LEGAL_KINDS = "商贸 商业管理 家居用品 贸易 实业 家具销售".split()
BUSINESS_KINDS = "装饰工程 酒店管理 物业服务 建筑设计 地产营销 商贸 餐饮管理 教育科技".split()
DEALER_KINDS = "家居经营部 建材商行 家具店 软装工作室".split()
EMAIL_DOMAINS = "qq.com 163.com 163.com 126.com sina.com foxmail.com gmail.com outlook.com".split()
TAGS = [None] * 14 + ["新房装修", "老客户", "团购", "价格敏感", "设计师推荐", "会员日常客", "二次装修", "旧房翻新"]
MORE_OUTCOMES = OUTCOMES + ["顾客表示近期暂无需求，约定下季度再联系", "顾客反馈送货及时，包装完好", "已为顾客预约上门测量",
                            "顾客对售后处理满意，感谢回访"]
NOTES = [None] * 40 + ["只在周末方便接电话", "偏好微信联系", "家中有老人，送货需提前告知", "对环保材料要求高"]

# --- how customers behave ------------------------------------------------------------
# persona: share in per-mille; purchases (see _purchase_days)
PERSONAS = [("potential", 160), ("occasional", 440), ("regular", 240), ("vip", 35), ("lapsed", 75), ("slowing", 50)]
SOURCES = ["walk_in"] * 40 + ["referral"] * 15 + ["online"] * 15 + ["social"] * 12 + ["event"] * 8 + ["phone"] * 7 + ["other"] * 3
RELATIONSHIPS = ["basic"] * 45 + ["reactive"] * 25 + ["accountable"] * 15 + ["proactive"] * 12 + ["partnership"] * 3
CHANNELS = ["in_store"] * 60 + ["online"] * 15 + ["wechat"] * 15 + ["phone"] * 10
CONSENT_METHODS = ["paper"] * 4 + ["online"] * 3 + ["wechat"] * 3 + ["phone"]
CONTACT_METHODS = ["phone"] * 5 + ["wechat"] * 3 + ["sms"] * 2 + ["visit"]

CUSTOMER_COLUMNS = (
    "id", "store_id", "franchisee_id", "code", "name", "name_key", "gender", "birthday", "birthday_md", "mobile",
    "mobile_tail", "email", "address", "province", "city", "district", "postal_code", "customer_type", "source", "relationship_type", "salesperson_id",
    "commission_code", "tax_no", "credit_record", "sales_limit", "delivery_address", "invoice_address", "tags",
    "notes", "points", "consent", "consent_at", "consent_method", "consent_purpose", "last_activity_on",
    "created_at", "updated_at", "version",
)
# Derived figures: written as the model's defaults, computed afterwards by network_jobs.rebuild_all.
DERIVED_COLUMNS = ("purchase_count", "total_spend", "last_purchase_day", "yearly_spend", "clv", "category", "grade",
                   "churn_flags")
PURCHASE_COLUMNS = ("id", "store_id", "franchisee_id", "customer_id", "purchased_on", "amount", "items", "product_type", "channel",
                    "points_earned", "over_limit", "created_at", "updated_at")
CONTACT_COLUMNS = ("id", "store_id", "franchisee_id", "customer_id", "occurred_at", "place", "method", "purpose",
                   "cost", "concession", "outcome", "purchase_id", "care_year", "staff_id", "created_at", "updated_at")


class LoadRefused(RuntimeError):
    """The database is not one this load may add to."""


def _quiet(_message: str) -> None:
    pass


def _weighted(spec: str) -> list[str]:
    """``"王712 李700"`` → a list with each item repeated by its weight, for O(1) weighted picks."""
    table = []
    for item in spec.split():
        name = item.rstrip("0123456789")
        table.extend([name] * int(item[len(name):]))
    return table


_CN_DIGITS = "零一二三四五六七八九"


def _cn_number(n: int) -> str:
    if n < 10:
        return _CN_DIGITS[n]
    tens, ones = divmod(n, 10)
    return (_CN_DIGITS[tens] if tens > 1 else "") + "十" + (_CN_DIGITS[ones] if ones else "")


def _apportion(total: int, weights: list[float], minimum: int = 1) -> list[int]:
    """Split ``total`` in proportion to ``weights``, at least ``minimum`` each (largest remainders)."""
    n = len(weights)
    if n == 0:
        return []
    if total < n * minimum:
        raise LoadRefused(f"cannot give {n} parts at least {minimum} each out of {total}")
    floored: set[int] = set()  # parts whose share is below the minimum: they get the minimum
    while True:
        free = [i for i in range(n) if i not in floored]
        left = total - minimum * len(floored)
        whole = sum(weights[i] for i in free)
        raw = {i: (weights[i] * left / whole if whole else left / len(free)) for i in free}
        below = {i for i in free if raw[i] < minimum}
        if not below or len(below) == len(free):
            break
        floored |= below
    counts = [minimum] * n
    for i in free:
        counts[i] = max(minimum, int(raw[i]))
    for i in sorted(free, key=lambda k: raw[k] - int(raw[k]), reverse=True)[: max(0, total - sum(counts))]:
        counts[i] += 1
    return counts


def _fit_store_counts(shape: list[int], total: int) -> list[int]:
    """Make the drawn store counts add up to ``total`` while keeping their shape.

    More stores than drawn go to the franchisees with 6 or more (the chains grow); fewer
    are taken from everyone in proportion, never below one store each.
    """
    if not shape:
        return []
    missing = total - sum(shape)
    if missing <= 0:
        return _apportion(total, shape)
    chains = [i for i, count in enumerate(shape) if count >= 6] or list(range(len(shape)))
    counts = list(shape)
    for i, extra in zip(chains, _apportion(missing, [shape[i] for i in chains], minimum=0)):
        counts[i] += extra
    return counts


# --- the plan: regions, franchisees, stores, customers per store --------------------

@dataclass
class Options:
    stores: int = 1000
    franchisees: int = 150
    regions: int = 30
    customers: int = 1_000_000
    seed: int = 42
    today: date | None = None
    # One complaint per five customers unless given (app/seed_large_complaints.py).
    complaints: int | None = None


@dataclass
class StorePlan:
    id: int
    code: str
    name: str
    region_id: int
    city: str
    address: str
    opened_on: date
    franchisee_id: int
    customers: int = 0
    first_number: int = 1  # the first customer number to give out (after the store's existing ones)
    staff_ids: list[int] = field(default_factory=list)  # users: who made the contacts
    seller_ids: list[int] = field(default_factory=list)  # employees: the customers' salespeople
    new: bool = True


@dataclass
class Context:
    """What the load builds on, read from the database (or made up in tests)."""

    owner_a_franchisee_id: int
    owner_a_store: StorePlan  # manager-a1's store, with its existing customer count in first_number
    demo_region_id: int | None
    next_ids: dict[str, int]  # table name → first free id
    taken_store_codes: set[str] = field(default_factory=set)
    taken_franchisee_names: set[str] = field(default_factory=set)
    taken_contracts: set[str] = field(default_factory=set)
    taken_region_codes: set[str] = field(default_factory=set)
    taken_region_names: set[str] = field(default_factory=set)
    points_per_cent: int = 100  # points per yuan × 100: points = floor(cents × this / 10,000)
    timezone: str = "Asia/Shanghai"


@dataclass
class Plan:
    options: Options
    context: Context
    today: date
    rng: random.Random
    regions: list[dict] = field(default_factory=list)
    franchisees: list[dict] = field(default_factory=list)
    stores: list[StorePlan] = field(default_factory=list)


def build_plan(options: Options, context: Context) -> Plan:
    """Regions, franchisees, stores and the number of customers of each store; no database access."""
    today = options.today or local_today()
    rng = random.Random(options.seed)
    plan = Plan(options, context, today, rng)
    people = _People(rng)
    ids = dict(context.next_ids)

    def next_id(table: str) -> int:
        ids[table] += 1
        return ids[table] - 1

    # Regions: the list above, then the same areas again as 华北一区（二）… if more are asked for.
    region_cities, region_weights = {}, {}
    for k in range(options.regions):
        code, name, cities, weight = REGIONS[k % len(REGIONS)]
        if k >= len(REGIONS):
            lap = k // len(REGIONS) + 1
            code, name = f"{code}-{lap}", f"{name}（{_cn_number(lap)}）"
        if code in context.taken_region_codes or name in context.taken_region_names:
            raise LoadRefused(f"region {code} {name} already exists: seed large was loaded into this database before")
        region_id = next_id("region")
        plan.regions.append({"id": region_id, "code": code, "name": name})
        region_cities[region_id], region_weights[region_id] = cities.split(), weight

    # Franchisees, each with a home region; every region gets one before any gets a second.
    region_ids = [r["id"] for r in plan.regions]
    homes = rng.sample(region_ids, len(region_ids))[: options.franchisees]
    weights = [region_weights[r] for r in region_ids]
    homes += rng.choices(region_ids, weights, k=options.franchisees - len(homes))
    names, contracts = set(context.taken_franchisee_names), set(context.taken_contracts)
    number = 100
    for home in homes:
        city = region_cities[home][0] if rng.random() < 0.6 else rng.choice(region_cities[home])
        area = city if rng.random() < 0.6 else CITIES[city][2]
        for _ in range(200):
            trade = rng.choice(TRADES)
            name = f"{trade}{rng.choice(FRANCHISE_KINDS)}（{area}）"
            if name not in names:
                break
        else:
            name = f"{trade}{rng.choice(FRANCHISE_KINDS)}{len(names)}（{area}）"
        names.add(name)
        start = date(rng.randint(2012, 2025), rng.randint(1, 12), 1)
        if start >= today:
            start = date(today.year - 1, 1, 1)
        while True:
            number += 1
            contract = f"FR-{start.year}-{number:03d}"
            if contract not in contracts:
                contracts.add(contract)
                break
        years = rng.choice([5, 8, 10, 10])
        end = date(start.year + years, start.month, 1) - timedelta(days=1)
        while end <= today + timedelta(days=180):  # renewed: every franchisee in the network is under contract
            years += 5
            end = date(start.year + years, start.month, 1) - timedelta(days=1)
        owner, _gender, _year = people.person()
        domain = people.pinyin_word(trade) + "-" + CITIES[city][0].lower()
        plan.franchisees.append({
            "id": next_id("franchisee"), "name": name, "contract_no": contract,
            "legal_entity": f"{city}{trade}{rng.choice(LEGAL_KINDS)}有限公司",
            "contract_start": start, "contract_end": end,
            "owner_name": owner, "owner_phone": people.mobile(),
            "owner_email": f"{people.pinyin(owner)}@{domain}.cn" if rng.random() < 0.8 else None,
            "status": "active", "home": home,
        })

    # Stores per franchisee: a few large (20–40), some medium (6–15), most small (1–5).
    a_extra = min(max(1, round(options.stores * OWNER_A_STORE_SHARE)), options.stores - options.franchisees)
    if a_extra < 0:
        raise LoadRefused(f"--stores ({options.stores}) must be larger than --franchisees ({options.franchisees})")
    shape = []
    for _ in plan.franchisees:
        r = rng.random()
        shape.append(rng.randint(20, 40) if r < 0.07 else rng.randint(6, 15) if r < 0.25 else rng.randint(1, 5))
    counts = _fit_store_counts(shape, options.stores - a_extra)

    numbers: dict[str, int] = {}
    city_names: set[str] = set()

    def new_store(city: str, region_id: int, franchisee_id: int, not_before: date) -> StorePlan:
        letters, _postal, _alias, districts, roads = CITIES[city]
        n = numbers.get(city, 1)
        while True:
            n += 1
            code = f"{letters}{n:03d}"
            if code not in context.taken_store_codes:
                break
        numbers[city] = n
        road = rng.choice(roads.split())
        name, k = f"{city}{road}店", 1
        while name in city_names:
            k += 1
            name = f"{city}{road}{_cn_number(k)}店"
        city_names.add(name)
        latest = today - timedelta(days=45)
        first = min(not_before, latest)
        opened = first + timedelta(days=rng.randrange(max(1, (latest - first).days)))
        address = (f"{city}市{rng.choice(districts.split())}{road}{rng.randint(1, 999)}号"
                   f"{rng.choice(['', '', '1楼', '一层', 'B1层', '2楼', '购物中心3楼'])}")
        return StorePlan(next_id("store"), code, name, region_id, city, address, opened, franchisee_id)

    a_region = context.demo_region_id or region_ids[0]
    a_start = date(2019, 3, 1)
    a_stores = [new_store(rng.choice(OWNER_A_CITIES), a_region, context.owner_a_franchisee_id, a_start)
                for _ in range(a_extra)]
    other_stores = []
    for franchisee, count in zip(plan.franchisees, counts):
        cities = region_cities[franchisee["home"]]
        city_weights = [3] + [1] * (len(cities) - 1)
        for _ in range(count):
            city = rng.choices(cities, city_weights)[0]
            other_stores.append(new_store(city, franchisee["home"], franchisee["id"], franchisee["contract_start"]))

    # Customers per store: long-tailed; owner-a's stores and manager-a1's store get their share first.
    a_new = round(options.customers * OWNER_A_SHARE)
    anchor_new = round(options.customers * MANAGER_A1_SHARE)
    a_budget = max(a_new - anchor_new, len(a_stores)) if a_stores else 0
    others = options.customers - anchor_new - a_budget
    if others < len(other_stores):
        raise LoadRefused(f"--customers ({options.customers}) is too small for {options.stores} stores")

    def sizes(total: int, stores: list[StorePlan]) -> None:
        shares = [min(rng.lognormvariate(0, 0.8), 15.0) for _ in stores]
        for store, size in zip(stores, _apportion(total, shares)):
            store.customers = size

    sizes(a_budget, a_stores)
    sizes(others, other_stores)
    anchor = context.owner_a_store
    anchor.customers = anchor_new
    plan.stores = [anchor] + a_stores + other_stores
    return plan


# --- people --------------------------------------------------------------------------

class _People:
    """Names, mobiles and e-mail addresses, drawn from the plan's generator."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.random = rng.random
        self.surnames = _weighted(SURNAMES)
        self.male, self.female = list(MALE_CHARS), list(FEMALE_CHARS)
        self.era = {key: names.split() for key, names in ERA_NAMES.items()}
        self.used_mobiles: set[int] = set()
        self._pinyin: dict[str, str] = {}

    def pick(self, seq):
        return seq[int(self.random() * len(seq))]

    def person(self) -> tuple[str, str, int]:
        """A name, the sex it belongs to and a birth year."""
        random, pick = self.random, self.pick
        year = int(self.rng.triangular(1950, 2006, 1986))
        sex = "female" if random() < 0.56 else "male"
        r = random()
        if r < 0.14:
            given = pick(self.era[(sex, 0 if year < 1975 else 1 if year < 1990 else 2)])
        else:
            chars = self.female if sex == "female" else self.male
            # Favour the front of the list: the commonest characters repeat most (张伟, 王芳, 李娜 …).
            first = chars[int(random() ** 1.3 * len(chars))]
            given = first if r < 0.30 else first + chars[int(random() * len(chars))]
        return pick(self.surnames) + given, sex, year

    def mobile(self) -> str:
        while True:
            number = int(self.pick(MOBILE_PREFIXES)) * 100_000_000 + int(self.random() * 100_000_000)
            if number not in self.used_mobiles:
                self.used_mobiles.add(number)
                return str(number)

    def pinyin(self, name: str) -> str:
        """``王建国`` → ``wangjg``: surname in full, given-name initials."""
        cached = self._pinyin.get(name)
        if cached is None:
            parts = lazy_pinyin(name)
            cut = 2 if len(name) >= 4 and name[:2] in ("欧阳", "司马", "诸葛", "上官") else 1
            cached = self._pinyin[name] = "".join(parts[:cut]) + "".join(p[:1] for p in parts[cut:])
        return cached

    def pinyin_word(self, word: str) -> str:
        """``鑫源`` → ``xinyuan``."""
        cached = self._pinyin.get(("word", word))
        if cached is None:
            cached = self._pinyin[("word", word)] = "".join(lazy_pinyin(word))
        return cached

    def email(self, name: str) -> str:
        random = self.random
        if random() < 0.45:
            return f"{int(10_000_000 + random() * 2_900_000_000)}@qq.com"
        return f"{self.pinyin(name)}{int(random() * 9999) if random() < 0.8 else ''}@{self.pick(EMAIL_DOMAINS)}"


# --- rows ----------------------------------------------------------------------------

class _Clock:
    """Dates and times as the strings the database stores, cached per day."""

    def __init__(self, today: date, timezone: str):
        self.today = today.toordinal()
        self.zone = ZoneInfo(timezone)
        self._days: dict[int, str] = {}
        self._midnights: dict[int, datetime] = {}

    def day(self, ordinal: int) -> str:
        text = self._days.get(ordinal)
        if text is None:
            text = self._days[ordinal] = date.fromordinal(ordinal).isoformat()
        return text

    def at(self, ordinal: int, seconds: int) -> str:
        """``seconds`` after local midnight of that day, in UTC (business hours stored as UTC)."""
        midnight = self._midnights.get(ordinal)
        if midnight is None:
            local = datetime.combine(date.fromordinal(ordinal), datetime.min.time(), self.zone)
            midnight = self._midnights[ordinal] = local.astimezone(UTC).replace(tzinfo=None)
        return (midnight + timedelta(seconds=seconds)).isoformat(" ", "microseconds")


def _spread(rng_random, count: int, first: int, last: int) -> list[int]:
    """``count`` days from ``first`` to ``last`` (ordinals), evenly spaced with jitter, oldest first."""
    span = max(last - first, 0)
    step = span / count
    return [first + int(step * i + rng_random() * step) for i in range(count)]


class _Generator:
    """Customers, purchases and contacts, store by store, as tuples in the *_COLUMNS order."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.people = _People(plan.rng)
        self.clock = _Clock(plan.today, plan.context.timezone)
        ids = plan.context.next_ids
        self.next_customer, self.next_purchase, self.next_contact = ids["customer"], ids["purchase"], ids["contact"]
        self.personas = [p for p, share in PERSONAS for _ in range(share)]
        self.recent: dict[int, list[tuple]] = {}  # franchisee → recent (name, birthday ordinal, mobile, sex)
        self.points_per_cent = plan.context.points_per_cent
        self.places: dict[tuple[str, str], tuple[str, tuple]] = {}

    def store_rows(self, store: StorePlan):
        """Yield (customer, purchases, contacts) for each new customer of ``store``."""
        for n in range(store.first_number, store.first_number + store.customers):
            yield self.customer(store, n)

    def customer(self, store: StorePlan, number: int):
        people, clock = self.people, self.clock
        random, pick = people.random, people.pick
        today = clock.today
        yesterday = today - 1
        cid = self.next_customer
        self.next_customer += 1
        city = store.city
        _letters, postal, _alias, districts, roads = CITIES.get(city, ("", "000", "", "市中心区", "人民路"))

        persona = pick(self.personas)
        window = max(store.opened_on.toordinal(), today - HISTORY_DAYS)
        if persona == "potential" or persona == "occasional":
            created = window + int((yesterday - window) * random() ** 0.7)
        else:  # a history needs time: these customers joined earlier
            created = window + int(max(yesterday - 400 - window, (yesterday - window) // 3) * random())

        r = random()
        ctype = "manufacturer" if r < 0.04 else "intermediary" if r < 0.07 else "individual"
        name, sex, year = people.person()
        birthday = birthday_md = None
        birthday_ord = None
        recent = self.recent.setdefault(store.franchisee_id, [])
        mobile = people.mobile() if random() < 0.9 else None
        tax_no = credit = sales_limit = delivery = invoice = commission = None
        if ctype == "individual":
            if random() < 0.7:
                birthday_ord = date(year, 1, 1).toordinal() + int(random() * 365)
            # Planted duplicates within the franchisee: a reused phone, a repeated name and birthday,
            # a surname typed as a homophone.
            if recent:
                r = random()
                if r < 0.003:
                    other = pick(recent)
                    if other[2]:
                        mobile = other[2]
                    if random() < 0.5:  # the same person registered again
                        name, birthday_ord, sex = other[0], other[1], other[3]
                elif r < 0.004:
                    other = pick(recent)
                    name, birthday_ord, sex = other[0], other[1] or birthday_ord, other[3]
                elif r < 0.005:
                    other = pick(recent)
                    swapped = HOMOPHONES.get(other[0][0])
                    if swapped and other[1]:
                        name, birthday_ord, sex = swapped + other[0][1:], other[1], other[3]
            if len(recent) < 64:
                recent.append((name, birthday_ord, mobile, sex))
            else:
                recent[int(random() * 64)] = (name, birthday_ord, mobile, sex)
            gender = sex if random() < 0.95 else "unknown"
            if birthday_ord:
                birthday = clock.day(birthday_ord)
                bday = date.fromordinal(birthday_ord)
                birthday_md = bday.month * 100 + bday.day
        else:
            gender = "unknown"
            trade = pick(TRADES)
            name = (f"{city}{trade}{pick(BUSINESS_KINDS)}有限公司" if ctype == "manufacturer"
                    else f"{city}{trade}{pick(DEALER_KINDS)}")
            tax_no = f"91{int(random() * 10**15):015d}X"[:18]
            sales_limit = pick(["20000.00", "50000.00", "100000.00"])
            credit = pick(["按时付款", "偶有延迟，已结清", "月结30天", "预付款"])
            commission = f"YJ{int(random() * 90 + 10)}"
        address = None
        divisions = (None, None, None)
        if random() < 0.75 or ctype != "individual":
            place, divisions = self._place(city, pick(districts.split()))
            address = (f"{place}{pick(roads.split())}{int(random() * 800) + 1}号"
                       f"{int(random() * 30) + 1}栋{int(random() * 3000) + 101}室")
        if ctype != "individual":
            delivery = invoice = address
        email = None
        if random() < 0.2:
            email = (people.email(name) if ctype == "individual" else
                     f"{pick(['info', 'service', 'sales', 'admin'])}@{people.pinyin_word(trade)}.com.cn")

        staff = store.staff_ids
        created_at = clock.at(created, 36000 + int(random() * 36000))

        # Purchases.
        days = self._purchase_days(persona, created, yesterday)
        purchases, points, last_activity = [], 0, created
        business = ctype != "individual"
        limit_cents = int(float(sales_limit) * 100) if sales_limit else 0
        ppc = self.points_per_cent
        for day in days:
            item, low, high = pick(ITEMS)
            kind = ITEM_TYPES[item]
            cents = (low + int(random() * (high - low))) * 100 + pick((0, 0, 50, 80))
            if random() < 0.12:
                item2, low2, high2 = pick(ITEMS)
                if item2 != item:
                    item = f"{item}、{item2}"
                    cents += (low2 + int(random() * (high2 - low2))) * 100
            if business:
                cents *= 4
            earned = cents * ppc // 10_000
            points += earned
            at = clock.at(day, 36000 + int(random() * 36000))
            purchases.append((self.next_purchase, store.id, store.franchisee_id, cid, clock.day(day),
                              f"{cents // 100}.{cents % 100:02d}", item, kind, pick(CHANNELS), earned,
                              bool(limit_cents and cents > limit_cents), at, at))
            self.next_purchase += 1
        if days:
            last_activity = max(last_activity, days[-1])

        # Contacts: return visits after purchases, routine calls, win-back, birthday and complaint follow-ups.
        contacts = []

        def contact(day, purpose, method, purchase_id=None, care_year=None, outcome=None, place=None):
            nonlocal last_activity
            at = clock.at(day, 36000 + int(random() * 28800))
            contacts.append((self.next_contact, store.id, store.franchisee_id, cid, at,
                             place or (f"{city}客户家中" if method == "visit" else "门店" if random() < 0.2 else None),
                             method, purpose, "0", None, outcome or pick(MORE_OUTCOMES), purchase_id, care_year,
                             pick(staff) if staff and random() < 0.8 else None, at, at))
            self.next_contact += 1
            last_activity = max(last_activity, day)

        for day, purchase in zip(days, purchases):
            if yesterday - day > 20 and random() < 0.085:
                contact(day + 2 + int(random() * 4), "return_visit", pick(["phone", "phone", "wechat", "sms"]),
                        purchase_id=purchase[0])
        r = random()
        if r < 0.15:
            contact(created + int((yesterday - created) * random()), "routine", pick(CONTACT_METHODS))
        if r < 0.03:
            contact(created + int((yesterday - created) * random()), "routine", pick(CONTACT_METHODS))
        if persona == "lapsed" and days and random() < 0.35:
            contact(min(yesterday, days[-1] + 150 + int(random() * 60)), "churn", "phone",
                    outcome=pick(["顾客表示近期搬家，暂不需要", "已发送老客户回馈券，顾客表示会考虑", "未接通，已发送短信"]))
        if birthday_ord and random() < 0.05:
            bday = date.fromordinal(birthday_ord)
            for year_ in (date.fromordinal(yesterday).year, date.fromordinal(yesterday).year - 1):
                try:
                    on = date(year_, bday.month, bday.day).toordinal()
                except ValueError:
                    on = date(year_, 2, 28).toordinal()
                if created <= on <= yesterday:
                    contact(on, "birthday", pick(["wechat", "sms", "phone"]), care_year=year_,
                            outcome="已发送生日祝福及会员生日礼券")
                    break
        if days and random() < 0.01:
            day = pick(days)
            contact(min(yesterday, day + 5 + int(random() * 10)), "complaint", "phone",
                    outcome=pick(["商品有划痕，已安排换货，顾客满意", "送货延误，已致歉并赠送优惠券", "安装问题已上门处理完毕"]))

        consent = random() < 0.6
        consent_at = consent_method = consent_purpose = None
        if consent:
            consent_at = clock.at(min(yesterday, created + int(random() * 10)), 36000 + int(random() * 36000))
            consent_method = pick(CONSENT_METHODS)
            consent_purpose = "回访、会员活动与节日问候"
        updated_at = created_at if random() < 0.8 else clock.at(
            created + int((last_activity - created) * random()), 36000 + int(random() * 36000))
        row = (
            cid, store.id, store.franchisee_id, f"{store.code}-{number:06d}", name, name_key(name), gender,
            birthday, birthday_md, mobile, mobile[-4:] if mobile else None, email, address, *divisions,
            f"{postal}{int(random() * 1000):03d}" if address and random() < 0.8 else None,
            ctype, pick(SOURCES), pick(RELATIONSHIPS) if business or random() < 0.97 else "basic",
            pick(store.seller_ids) if store.seller_ids and random() < 0.6 else None, commission, tax_no, credit,
            sales_limit, delivery, invoice,
            pick(TAGS), pick(NOTES), points, consent, consent_at, consent_method, consent_purpose,
            clock.day(last_activity), created_at, updated_at, 1,
        )
        return row, purchases, contacts

    def _place(self, city: str, district: str) -> tuple[str, tuple]:
        """The address's start in full (浙江省杭州市西湖区) and its divisions, as the portal's
        parser makes them (services/addresses.py), once per city and district."""
        key = (city, district)
        if key not in self.places:
            parsed = addresses.parse(f"{city}市{district}")
            self.places[key] = (parsed.text(), (parsed.province, parsed.city, parsed.district))
        return self.places[key]

    def _purchase_days(self, persona: str, created: int, last: int) -> list[int]:
        random = self.people.random
        span = last - created
        if persona == "potential" or span < 0:
            return []
        if persona == "occasional":
            count = 1 if random() < 0.55 else 2 if random() < 0.67 else 3
            return sorted(created + int(span * random()) for _ in range(count))
        if persona == "regular":
            end = last - int(random() * 40)
            return _spread(random, 3 + int(random() * 7.5), created, max(created, end))
        if persona == "vip":
            count = min(20 + int(random() * 41), max(3, span // 7))
            return _spread(random, count, created, last - int(random() * 10))
        if persona == "lapsed":
            stop = max(created, last - 200 - int(random() * 250))
            return _spread(random, 3 + int(random() * 8), created, stop)
        # slowing: regular until about 200 days ago, then one purchase in the last 150 days
        stop = max(created, last - 200)
        days = _spread(random, 4 + int(random() * 9), created, stop)
        days.append(max(created, last - int(random() * 150)))
        return days


def generate(plan: Plan):
    """Every new customer as (store, customer row, purchase rows, contact rows), in load order."""
    generator = _Generator(plan)
    for store in plan.stores:
        for customer, purchases, contacts in generator.store_rows(store):
            yield store, customer, purchases, contacts


def checksum(plan: Plan, limit: int | None = None) -> str:
    """A digest of the generated rows (without touching the database): same seed, same digest."""
    digest = hashlib.sha256()
    for k, (_store, customer, purchases, contacts) in enumerate(generate(plan)):
        if limit is not None and k >= limit:
            break
        digest.update(repr((customer, purchases, contacts)).encode())
    return digest.hexdigest()


# --- writing ---------------------------------------------------------------------------

class _Writer:
    """Bulk rows into one table: executemany on SQLite, COPY on PostgreSQL."""

    def __init__(self, table, columns: tuple[str, ...]):
        self.table = table
        # Columns this load does not fill: NOT NULL ones get the model's constant default, so a new
        # column with a default does not break the load; one whose default needs the row fails here.
        extra = []
        for column in table.columns:
            if column.name in columns or column.primary_key:
                continue
            default = column.default
            if default is not None and default.is_scalar:
                extra.append((column.name, _plain(default.arg)))
            elif default is not None and default.is_callable:
                try:
                    value = default.arg(None)  # SQLAlchemy passes an execution context; utcnow ignores it
                except Exception:
                    raise RuntimeError(f"seed large must fill {table.name}.{column.name} (its default needs the row)")
                extra.append((column.name, _plain(value)))
            elif not column.nullable and column.server_default is None:
                raise RuntimeError(f"seed large does not know what to write into {table.name}.{column.name}")
        self.columns = columns + tuple(name for name, _ in extra)
        self.extra = tuple(value for _, value in extra)

    def write(self, connection, rows: list[tuple]) -> None:
        if not rows:
            return
        if self.extra:
            rows = [row + self.extra for row in rows]
        dialect = connection.dialect
        quote = dialect.identifier_preparer.quote
        names = ", ".join(quote(c) for c in self.columns)
        if dialect.name == "postgresql":
            raw = connection.connection.driver_connection
            with raw.cursor() as cursor, cursor.copy(f"COPY {quote(self.table.name)} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" * len(self.columns))
            connection.exec_driver_sql(f"INSERT INTO {quote(self.table.name)} ({names}) VALUES ({marks})", rows)


def _plain(value):
    """A Python default as the text the database stores."""
    from decimal import Decimal

    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat(" ", "microseconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


class _BulkMode:
    """Database settings for the length of the load (not in tests, which load a few hundred rows).

    - The secondary indexes of customer, purchase and contact (those of the models) are
      dropped first and built again at the end: one sort per index instead of millions of
      random inserts. So is the trigram name index (FTS5 table fed by a trigger on SQLite,
      ``pg_trgm`` GIN on PostgreSQL), through ``customer_search.install``.
    - SQLite: connections the session checks out skip fsync and keep 256 MB of pages.
      ``PRAGMA synchronous`` cannot change inside a transaction, so it is set when the pool
      hands the connection out (before BEGIN) and put back when it returns.

    ``finish`` runs whatever happens; a process killed during the load leaves a database
    without those indexes (it is a throwaway database: load again).
    """

    SQLITE_SEARCH = ("trigger", "customer_name_fts_ai")
    POSTGRESQL_SEARCH = ("index", "ix_customer_name_trgm")

    def __init__(self, dialect: str, tables):
        self.dialect = dialect
        self.engine = db.engine
        self.indexes = [index for table in tables for index in sorted(table.indexes, key=lambda i: i.name)]
        self.search_paused = False
        if dialect == "sqlite":
            event.listen(self.engine, "checkout", self._checkout)
            event.listen(self.engine, "checkin", self._checkin)

    def start(self) -> None:
        connection = db.session.connection()
        for index in self.indexes:
            index.drop(connection, checkfirst=True)
        kind, name = self.SQLITE_SEARCH if self.dialect == "sqlite" else self.POSTGRESQL_SEARCH
        if self.dialect == "sqlite":
            found = connection.execute(text("SELECT 1 FROM sqlite_master WHERE type = :kind AND name = :name"),
                                       {"kind": kind, "name": name}).first()
        else:
            found = connection.execute(text("SELECT to_regclass(:name)"), {"name": name}).scalar()
        if found:
            connection.execute(text(f"DROP {kind.upper()} {name}"))
            self.search_paused = True

    def finish(self) -> None:
        connection = db.session.connection()
        if self.dialect == "postgresql":
            connection.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
        for index in self.indexes:
            index.create(connection, checkfirst=True)
        if self.search_paused:
            from app.services.customer_search import install

            install(connection)  # the trigger or GIN index again; on SQLite a rebuild of the FTS table
        if self.dialect == "sqlite":
            event.remove(self.engine, "checkout", self._checkout)
            event.remove(self.engine, "checkin", self._checkin)

    @staticmethod
    def _pragmas(dbapi_connection, statements) -> None:
        cursor = dbapi_connection.cursor()
        for statement in statements:
            cursor.execute(statement)
        cursor.close()

    def _checkout(self, dbapi_connection, record, proxy) -> None:
        if "seed_large_pragmas" not in record.info:
            cursor = dbapi_connection.cursor()
            record.info["seed_large_pragmas"] = [
                f"PRAGMA {name}={cursor.execute(f'PRAGMA {name}').fetchone()[0]}" for name in ("synchronous", "cache_size")]
            cursor.close()
        self._pragmas(dbapi_connection, ["PRAGMA synchronous=OFF", "PRAGMA cache_size=-262144"])

    def _checkin(self, dbapi_connection, record) -> None:
        saved = record.info.pop("seed_large_pragmas", None)
        if dbapi_connection is not None and saved:
            self._pragmas(dbapi_connection, saved)


def _context(today: date) -> Context:
    """Read what the load builds on: the demo's owner-a and manager-a1, free ids, taken names."""
    owner_a = db.session.scalar(select(User).where(User.username == "owner-a"))
    manager = db.session.scalar(select(User).where(User.username == "manager-a1"))
    if owner_a is None or owner_a.franchisee_id is None or manager is None or not manager.stores:
        raise LoadRefused("the demo accounts owner-a and manager-a1 are missing: "
                          "seed large builds on the demo seed (run it on an empty database)")
    anchor = manager.stores[0]
    existing = db.session.scalar(select(CustomerSequence.last).where(CustomerSequence.store_id == anchor.id)) or 0
    staff = db.session.scalars(select(User.id).where(User.franchisee_id == anchor.franchisee_id,
                                                     User.role.in_(["store_manager", "store_staff"]))).all()
    staff = [u.id for u in db.session.scalars(select(User).where(User.id.in_(staff))) if anchor in u.stores]
    from app.models import Employee

    # The anchor store's salespeople: its team (issue 11), from the demo seed.
    sellers = db.session.scalars(select(Employee.id).where(Employee.store_id == anchor.id, Employee.status != "left")
                                 .order_by(Employee.id)).all()
    anchor_plan = StorePlan(anchor.id, anchor.code, anchor.name, anchor.region_id, anchor.city, anchor.address,
                            anchor.opened_on, anchor.franchisee_id, first_number=existing + 1, staff_ids=staff,
                            seller_ids=sellers, new=False)
    next_ids = {}
    for model in (Region, Franchisee, Store, StoreOwnership, Customer, Purchase, Contact):
        next_ids[model.__table__.name] = (db.session.scalar(select(func.max(model.id))) or 0) + 1
    rules = db.session.scalar(select(CustomerRules).where(CustomerRules.id == 1))
    per_yuan = rules.points_per_yuan if rules is not None else 1
    from flask import current_app

    return Context(
        owner_a_franchisee_id=owner_a.franchisee_id,
        owner_a_store=anchor_plan,
        demo_region_id=db.session.scalar(select(Region.id).where(Region.code == DEMO_REGION)),
        next_ids=next_ids,
        taken_store_codes=set(db.session.scalars(select(Store.code))),
        taken_franchisee_names=set(db.session.scalars(select(Franchisee.name))),
        taken_contracts=set(db.session.scalars(select(Franchisee.contract_no))),
        taken_region_codes=set(db.session.scalars(select(Region.code))),
        taken_region_names=set(db.session.scalars(select(Region.name))),
        points_per_cent=int(per_yuan * 100),
        timezone=current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai"),
    )


def load(options: Options, password: str, progress=_quiet, commit: bool = True, rebuild: bool = False,
         batch: int = BATCH_CUSTOMERS) -> dict:
    """Load the network into ``db.session``'s database; call under ``unscoped()``. Returns the counts.

    ``commit=False`` (tests) only flushes, so the caller's transaction keeps everything;
    ``rebuild`` computes the derived figures afterwards (``network_jobs.rebuild_all``, which commits).
    """
    started = time.perf_counter()
    phase = started

    def done(label: str) -> None:
        nonlocal phase
        now = time.perf_counter()
        progress(f"{label}: {now - phase:.1f} s")
        phase = now

    def end_transaction() -> None:
        if commit:
            db.session.commit()
        else:
            db.session.flush()

    from app.seed import seed_demo

    progress(seed_demo(password, only_if_empty=True))
    end_transaction()
    existing = db.session.scalar(select(func.count(Customer.id)))
    if existing > MAX_EXISTING_CUSTOMERS:
        raise LoadRefused(f"the database already has {existing:,} customers (more than the demo's): "
                          "seed large loads once, into a fresh database")
    done("demo seed")

    options.today = options.today or local_today()
    plan = build_plan(options, _context(options.today))
    dialect = db.session.connection().dialect.name
    bulk = _BulkMode(dialect, (Customer.__table__, Purchase.__table__, Contact.__table__)) if commit else None
    try:
        if bulk is not None:
            bulk.start()
        _write_network(plan)
        end_transaction()
        done(f"network: {len(plan.regions)} regions, {len(plan.franchisees)} franchisees, "
             f"{sum(s.new for s in plan.stores)} stores")
        totals = _write_customers(plan, end_transaction, batch, lambda line: progress(
            f"{line}, {time.perf_counter() - phase:.0f} s"))
        done(f"customers: {totals[0]:,} customers, {totals[1]:,} purchases, {totals[2]:,} contacts")
        _write_sequences(plan, dialect)
        end_transaction()
        done("customer sequences" + (" and id sequences" if dialect == "postgresql" else ""))
        from app import seed_large_complaints

        complaint_count = seed_large_complaints.load(options.seed, totals[0], progress, end_transaction,
                                                     total=options.complaints)
        seed_large_complaints.finish(progress)
        from app import seed_large_audits

        audit_count = seed_large_audits.load(options.seed, progress, end_transaction)
        done(f"audits: {audit_count:,}")
        from app import seed_large_training

        staff, results = seed_large_training.load(options.seed, progress, end_transaction)
        done(f"training: {staff:,} staff, {results:,} results")
        from app import seed_large_surveys

        answered = seed_large_surveys.load(options.seed, progress, end_transaction)
        done(f"surveys: {answered:,} responses, KPIs and warnings")
        from app import seed_large_deliveries

        shipped = seed_large_deliveries.load(options.seed, progress, end_transaction)
        done(f"deliveries: {shipped:,}")
        from app import seed_large_governance

        addressed = seed_large_governance.load(options.seed, progress, end_transaction)
        done(f"announcements: {addressed:,} receipts")
        if dialect == "postgresql":
            for table in ("complaint", "complaint_event", "store_audit", "audit_answer", "corrective_action"):
                db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                        f"(SELECT coalesce(max(id), 1) FROM {table}))"))
        end_transaction()
        done(f"complaints: {complaint_count:,}")
    finally:
        if bulk is not None:
            db.session.rollback()  # nothing is pending after a success; after a failure, start clean
            bulk.finish()
            end_transaction()
    if bulk is not None:
        done(f"indexes: {len(bulk.indexes)} built" + (", search index" if bulk.search_paused else ""))

    if rebuild:
        try:
            from app.services.network_jobs import rebuild_all
        except ImportError:
            progress("derived figures: skipped (network_jobs not available)")
        else:
            rebuild_all(progress=progress)
            done("derived figures")

    summary = {"regions": len(plan.regions), "franchisees": len(plan.franchisees),
               "stores": sum(s.new for s in plan.stores), "customers": totals[0], "purchases": totals[1],
               "contacts": totals[2], "complaints": complaint_count}
    seconds = time.perf_counter() - started
    progress("seed large: " + ", ".join(f"{v:,} {k}" for k, v in summary.items()) + f", {seconds:.0f} s")
    return summary | {"seconds": round(seconds, 1)}


def _write_network(plan: Plan) -> None:
    now = utcnow()
    stamps = {"created_at": now, "updated_at": now, "version": 1}
    if plan.regions:
        db.session.execute(insert(Region.__table__), [r | stamps for r in plan.regions])
    if plan.franchisees:
        db.session.execute(insert(Franchisee.__table__), [
            {k: v for k, v in f.items() if k != "home"} | stamps for f in plan.franchisees])
    new_stores = [s for s in plan.stores if s.new]
    if new_stores:
        db.session.execute(insert(Store.__table__), [
            {"id": s.id, "code": s.code, "name": s.name, "region_id": s.region_id, "city": s.city,
             "address": s.address, "opened_on": s.opened_on, "status": "open", "franchisee_id": s.franchisee_id}
            | stamps for s in new_stores])
        first = plan.context.next_ids["store_ownership"]
        db.session.execute(insert(StoreOwnership.__table__), [
            {"id": first + k, "store_id": s.id, "franchisee_id": s.franchisee_id, "start_on": s.opened_on,
             "end_on": None} for k, s in enumerate(new_stores)])


def _batches(plan: Plan, batch: int, derived: tuple):
    """The generated rows in batches of ``batch`` customers: (customers, purchases, contacts)."""
    customers, purchases, contacts = [], [], []
    for _store, customer, bought, contacted in generate(plan):
        customers.append(customer + derived)
        purchases.extend(bought)
        contacts.extend(contacted)
        if len(customers) >= batch:
            yield customers, purchases, contacts
            customers, purchases, contacts = [], [], []
    if customers:
        yield customers, purchases, contacts


_END = object()


def _in_background(items, depth: int = 2):
    """Iterate ``items`` in a thread, ``depth`` ahead of the consumer.

    Generating rows is Python work and writing them mostly database work (sqlite3
    releases the GIL while SQLite inserts; PostgreSQL works in its own process), so
    the two overlap on two cores. One thread generates, so the order, and the rows,
    stay the same for a seed.
    """
    handoff: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_END)
        except BaseException as error:  # handed to the consumer, raised there
            put(error)

    thread = threading.Thread(target=run, name="seed-large-rows", daemon=True)
    thread.start()
    try:
        while True:
            item = handoff.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def _write_customers(plan: Plan, end_transaction, batch: int, progress) -> list[int]:
    """Write customers, purchases and contacts a batch at a time, committing each; returns the three counts."""
    writers = (_Writer(Customer.__table__, CUSTOMER_COLUMNS + DERIVED_COLUMNS),
               _Writer(Purchase.__table__, PURCHASE_COLUMNS),
               _Writer(Contact.__table__, CONTACT_COLUMNS))
    derived = tuple(_plain(Customer.__table__.c[name].default.arg) for name in DERIVED_COLUMNS)
    totals = [0, 0, 0]
    wanted = sum(s.customers for s in plan.stores)
    report_every = 100_000 if wanted >= 300_000 else max(batch, 10_000)
    next_report = report_every
    for rows in _in_background(_batches(plan, batch, derived)):
        connection = db.session.connection()
        for k, (writer, table_rows) in enumerate(zip(writers, rows)):
            writer.write(connection, table_rows)
            totals[k] += len(table_rows)
        end_transaction()
        if totals[0] >= next_report and totals[0] < wanted:
            progress(f"  {totals[0]:,} / {wanted:,} customers, {totals[1]:,} purchases, {totals[2]:,} contacts")
            next_report = (totals[0] // report_every + 1) * report_every
    return totals


def _write_sequences(plan: Plan, dialect: str) -> None:
    """The customer numbers given out per store; on PostgreSQL, id sequences past the ids given here."""
    sequence = CustomerSequence.__table__
    new_stores = [s for s in plan.stores if s.new]
    if new_stores:
        db.session.execute(insert(sequence), [
            {"store_id": s.id, "last": s.first_number + s.customers - 1} for s in new_stores])
    anchor = plan.context.owner_a_store
    last = anchor.first_number + anchor.customers - 1
    if db.session.scalar(select(CustomerSequence.store_id).where(CustomerSequence.store_id == anchor.id)) is None:
        db.session.execute(insert(sequence), [{"store_id": anchor.id, "last": last}])
    else:
        db.session.execute(update(sequence).where(sequence.c.store_id == anchor.id).values(last=last))
    if dialect == "postgresql":
        for table in ("region", "franchisee", "store", "store_ownership", "customer", "purchase", "contact"):
            db.session.execute(text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
