package demo

import "github.com/spotcheck-gov/spotcheck/internal/library"

// The fixed part of the data set: Jiaxing's county-level units, the city
// bureau's departments and its item list. Towns are real; every person,
// enterprise and project generated from them is fictitious.

// county is one of the nine county-level units the city assigns drawn
// objects to.
type county struct {
	code string
	name string // as in the regions table
	// short is the name used in project names and addresses.
	short string
	// division is the GB/T 2260 code that enterprises registered there
	// carry in their credit codes: the two city-level zones have none of
	// their own and register with 南湖区's and 平湖市's authorities.
	division string
	// prefixes start the names of enterprises registered there.
	prefixes []string
	// towns are the 镇/街道; each has a natural-resources station (所).
	towns []string
	// team is the county's law-enforcement unit, which belongs to no
	// station: its inspectors are never recused by the cross-station rule.
	team string
	// weight is the unit's share of the object directory, in percent.
	weight int
	// staff is the unit's share of the inspectors beyond the core six.
	staff int
}

var counties = []county{
	{"330402", "南湖区", "嘉兴市南湖区", "330402", []string{"嘉兴市", "嘉兴", "嘉兴市南湖"},
		[]string{"新丰镇", "大桥镇", "余新镇", "凤桥镇", "七星街道", "东栅街道"}, "南湖区自然资源行政执法大队", 12, 12},
	{"330411", "秀洲区", "嘉兴市秀洲区", "330411", []string{"嘉兴市", "嘉兴", "嘉兴市秀洲"},
		[]string{"王江泾镇", "油车港镇", "新塍镇", "王店镇", "洪合镇", "高照街道"}, "秀洲区自然资源行政执法大队", 12, 11},
	{"330421", "嘉善县", "嘉善县", "330421", []string{"嘉善县", "嘉善"},
		[]string{"魏塘街道", "罗星街道", "惠民街道", "西塘镇", "姚庄镇", "陶庄镇", "干窑镇", "天凝镇", "大云镇"}, "嘉善县自然资源行政执法大队", 13, 13},
	{"330424", "海盐县", "海盐县", "330424", []string{"海盐县", "海盐"},
		[]string{"武原街道", "秦山街道", "望海街道", "西塘桥街道", "沈荡镇", "百步镇", "于城镇", "澉浦镇", "通元镇"}, "海盐县自然资源行政执法大队", 9, 10},
	{"330481", "海宁市", "海宁市", "330481", []string{"海宁市", "海宁"},
		[]string{"硖石街道", "海洲街道", "海昌街道", "马桥街道", "许村镇", "长安镇", "周王庙镇", "盐官镇", "斜桥镇", "丁桥镇", "袁花镇", "黄湾镇"}, "海宁市自然资源行政执法大队", 16, 16},
	{"330482", "平湖市", "平湖市", "330482", []string{"平湖市", "平湖"},
		[]string{"当湖街道", "钟埭街道", "曹桥街道", "新埭镇", "新仓镇", "林埭镇", "独山港镇", "广陈镇"}, "平湖市自然资源行政执法大队", 13, 13},
	{"330483", "桐乡市", "桐乡市", "330483", []string{"桐乡市", "桐乡"},
		[]string{"梧桐街道", "凤鸣街道", "龙翔街道", "濮院镇", "乌镇镇", "崇福镇", "洲泉镇", "屠甸镇", "石门镇", "大麻镇", "河山镇"}, "桐乡市自然资源行政执法大队", 15, 15},
	{"JXJK", "嘉兴经济技术开发区（国际商务区）", "嘉兴经济技术开发区", "330402", []string{"嘉兴市", "嘉兴"},
		[]string{"城南街道", "塘汇街道", "长水街道", "嘉北街道"}, "嘉兴经济技术开发区自然资源执法中队", 6, 6},
	{"JXGQ", "嘉兴港区", "嘉兴港区", "330482", []string{"嘉兴港区", "嘉兴"},
		[]string{"乍浦镇"}, "嘉兴港区自然资源执法中队", 4, 4},
}

// cityCode is the city above the nine units; its coordinator is told of
// everything.
const cityCode = "330400"

// station is the natural-resources station (所) of a town: 新丰镇 has
// 新丰自然资源所, 乌镇镇 乌镇自然资源所.
func station(town string) string {
	r := []rune(town)
	switch {
	case len(r) > 2 && string(r[len(r)-2:]) == "街道":
		r = r[:len(r)-2]
	case len(r) > 2 && r[len(r)-1] == '镇':
		r = r[:len(r)-1]
	}
	return string(r) + "自然资源所"
}

// departments of the city bureau (处室/单位) that own items.
var departments = []library.DepartmentInput{
	{Code: "ZFJ", Name: "执法局（政策法规处）"},
	{Code: "GHC", Name: "国土空间规划处"},
	{Code: "YTGZ", Name: "国土空间用途管制处"},
	{Code: "KFLY", Name: "自然资源开发利用处"},
	{Code: "GDBH", Name: "耕地保护监督处"},
	{Code: "STXF", Name: "国土空间生态修复处"},
	{Code: "KCC", Name: "矿产资源管理处"},
	{Code: "DKC", Name: "地质勘查管理处"},
	{Code: "CHC", Name: "测绘地理信息处"},
	{Code: "DLXX", Name: "地理信息与数据服务处"},
	{Code: "ZFD", Name: "自然资源行政执法队"},
}

// Inspector qualifications (tags) the items require, and leader, which
// marks who can lead a team.
const (
	tagLand    = "land"
	tagMining  = "mining"
	tagSurvey  = "survey"
	tagGeology = "geology"
	tagLeader  = "leader"
)

// EffectiveFrom is the day the demo item list takes effect.
const EffectiveFrom = "2026-01-01"

const authority = "嘉兴市自然资源和规划局；各县（市、区）自然资源和规划局（分局）"

func intp(n int) *int { return &n }

// items is the demo item list (抽查事项清单): the natural-resources system's
// usual entries. Each selects its objects by kind and tags (see kinds).
// ZR-14 is a joint check (联合检查, 进一次门、查多项事) of the surveying
// department and the geographic information department: a batch of it
// matches each department's own inspectors (see departmentStaff).
var items = []library.CheckItemInput{
	{
		Code: "ZR-01", Name: "土地复垦义务履行情况的检查", SubItem: "土地复垦方案实施及复垦费用预存使用情况",
		ObjectKind: "project", ObjectTags: []string{"land_reclamation"}, Methods: []string{"on_site", "written"},
		LegalBasis: "《土地复垦条例》第十八条；《土地复垦条例实施办法》",
		Content:    "检查土地复垦义务人是否按照经审查的土地复垦方案开展复垦，是否按规定报告土地损毁和复垦情况，土地复垦费用是否足额预存、专款专用，复垦后的土地是否达到复垦标准。",
		Class:      "general", DefaultRatio: "0.05", InspectorsRequired: intp(2), RequiredTags: []string{tagLand},
		DepartmentCode: "GDBH",
	},
	{
		Code: "ZR-02", Name: "矿山地质环境治理恢复情况的检查", SubItem: "矿山地质环境保护与土地复垦方案执行及治理恢复基金计提使用情况",
		ObjectKind: "project", ObjectTags: []string{"mining"}, Methods: []string{"on_site"},
		LegalBasis: "《矿山地质环境保护规定》；《地质灾害防治条例》",
		Content:    "检查采矿权人是否按照矿山地质环境保护与土地复垦方案履行治理恢复义务，是否按规定计提和使用矿山地质环境治理恢复基金，闭坑或废弃矿山是否完成治理恢复并通过验收。",
		Class:      "key", DefaultRatio: "0.1", FrequencyPerYear: intp(2), InspectorsRequired: intp(2),
		RequiredTags: []string{tagMining}, CrossStation: true, DepartmentCode: "KCC",
	},
	{
		Code: "ZR-03", Name: "测绘资质单位的监督检查", SubItem: "测绘资质条件保持及测绘活动开展情况",
		ObjectKind: "enterprise", ObjectTags: []string{"surveying"}, Methods: []string{"on_site", "written"},
		LegalBasis: "《中华人民共和国测绘法》第二十七条；《测绘资质管理办法》；《测绘资质分类分级标准》",
		Content:    "检查测绘资质单位的资质条件是否持续符合要求，是否超越资质等级或者业务范围从事测绘活动，是否转包、违法分包测绘项目，测绘人员、仪器设备和质量管理体系是否符合规定。",
		Class:      "general", DefaultRatio: "0.05", InspectorsRequired: intp(3), RequiredTags: []string{tagSurvey},
		CrossStation: true, DepartmentCode: "CHC",
	},
	{
		Code: "ZR-04", Name: "地质勘查单位及地质勘查活动的检查", SubItem: "地质勘查资质条件及地质资料汇交情况",
		ObjectKind: "enterprise", ObjectTags: []string{"geological_survey"}, Methods: []string{"written", "on_site"},
		LegalBasis: "《地质资料管理条例》；《地质勘查活动监督管理办法（试行）》",
		Content:    "检查地质勘查单位的从业条件、勘查项目实施和质量管理情况，是否按规定汇交地质资料，是否存在弄虚作假、出具虚假成果等行为。",
		Class:      "general", DefaultRatio: "0.03", InspectorsRequired: intp(3), RequiredTags: []string{tagGeology},
		DepartmentCode: "DKC",
	},
	{
		Code: "ZR-05", Name: "探矿权人勘查信息公示情况的检查", SubItem: "勘查年度信息公示及勘查投入情况",
		ObjectKind: "enterprise", ObjectTags: []string{"exploration_right"}, Methods: []string{"online", "written"},
		LegalBasis: "《矿产资源勘查区块登记管理办法》；《矿业权人勘查开采信息公示办法（试行）》",
		Content:    "检查探矿权人是否按规定公示勘查年度信息，公示信息是否真实、准确、完整，是否按照勘查实施方案开展勘查、完成最低勘查投入。",
		Class:      "general", DefaultRatio: "0.05", InspectorsRequired: intp(2), RequiredTags: []string{tagMining},
		DepartmentCode: "KCC",
	},
	{
		Code: "ZR-06", Name: "采矿权人开采信息公示情况的检查", SubItem: "开采年度信息公示及开发利用方案执行情况",
		ObjectKind: "enterprise", ObjectTags: []string{"mining_right"}, Methods: []string{"online", "written", "on_site"},
		LegalBasis: "《矿产资源开采登记管理办法》；《矿业权人勘查开采信息公示办法（试行）》",
		Content:    "检查采矿权人是否按规定公示开采年度信息，是否按照矿产资源开发利用方案开采，有无越界开采、超层开采等情形。",
		Class:      "general", DefaultRatio: "0.05", InspectorsRequired: intp(2), RequiredTags: []string{tagMining},
		DepartmentCode: "KCC",
	},
	{
		Code: "ZR-07", Name: "国有建设用地使用权出让合同履约情况的检查", SubItem: "开竣工时间及土地开发利用条件履约情况",
		ObjectKind: "project", ObjectTags: []string{"land_supply"}, Methods: []string{"on_site", "written"},
		LegalBasis: "《中华人民共和国城市房地产管理法》；《闲置土地处置办法》",
		Content:    "检查受让人是否按照出让合同约定的时间动工开发、竣工，是否按照约定的用途、容积率等条件开发利用土地，是否存在闲置土地情形。",
		Class:      "general", DefaultRatio: "0.05", InspectorsRequired: intp(2), RequiredTags: []string{tagLand},
		DepartmentCode: "KFLY",
	},
	{
		Code: "ZR-08", Name: "建设工程规划许可批后监管的检查", SubItem: "按规划许可内容建设情况",
		ObjectKind: "project", ObjectTags: []string{"planning_permit"}, Methods: []string{"on_site"},
		LegalBasis: "《中华人民共和国城乡规划法》第四十条、第四十五条；《浙江省城乡规划条例》",
		Content:    "检查建设单位是否按照建设工程规划许可证及其附件、附图确定的内容进行建设，是否擅自变更规划条件，是否存在超面积、超高度建设等情形。",
		Class:      "general", DefaultRatio: "0.03", InspectorsRequired: intp(2),
		DepartmentCode: "GHC",
	},
	{
		Code: "ZR-09", Name: "补充耕地项目实施及后续管护情况的检查", SubItem: "新增耕地数量质量及管护利用情况",
		ObjectKind: "project", ObjectTags: []string{"farmland_supplement"}, Methods: []string{"on_site", "testing"},
		LegalBasis: "《中华人民共和国土地管理法》第三十条；《浙江省土地整治条例》",
		Content:    "检查补充耕地项目是否按批准的设计实施，新增耕地的数量、质量是否与验收结果相符，是否存在撂荒、“非农化”“非粮化”等情形，后续管护责任是否落实。",
		Class:      "key", DefaultRatio: "0.1", FrequencyPerYear: intp(2), InspectorsRequired: intp(2),
		RequiredTags: []string{tagLand}, CrossStation: true, DepartmentCode: "GDBH",
	},
	{
		Code: "ZR-10", Name: "临时用地使用及复垦情况的检查", SubItem: "临时用地用途、期限及期满复垦情况",
		ObjectKind: "project", ObjectTags: []string{"temporary_land"}, Methods: []string{"on_site"},
		LegalBasis: "《中华人民共和国土地管理法》第五十七条；《自然资源部关于规范临时用地管理的通知》（自然资规〔2021〕2号）",
		Content:    "检查临时用地是否按照批准的用途和期限使用，是否修建永久性建筑物，使用期满后是否在规定期限内完成土地复垦。",
		Class:      "general", DefaultRatio: "0.05", InspectorsRequired: intp(2), RequiredTags: []string{tagLand},
		DepartmentCode: "YTGZ",
	},
	{
		Code: "ZR-11", Name: "测绘成果保密管理情况的检查", SubItem: "涉密测绘成果领取、使用、保管和销毁情况",
		ObjectKind: "enterprise", ObjectTags: []string{"surveying"}, Methods: []string{"on_site", "written"},
		LegalBasis: "《中华人民共和国测绘成果管理条例》；《中华人民共和国保守国家秘密法》",
		Content:    "检查涉密测绘成果的领取、使用、保管、销毁是否符合规定，保密管理制度、涉密人员和涉密计算机管理是否落实。",
		Class:      "general", DefaultRatio: "0.03", InspectorsRequired: intp(2), RequiredTags: []string{tagSurvey},
		DepartmentCode: "CHC",
	},
	{
		Code: "ZR-12", Name: "地质灾害防治单位的检查", SubItem: "地质灾害防治单位资质条件及项目承揽实施情况",
		ObjectKind: "enterprise", ObjectTags: []string{"geohazard"}, Methods: []string{"on_site", "written"},
		LegalBasis: "《地质灾害防治条例》；《地质灾害防治单位资质管理办法》",
		Content:    "检查地质灾害危险性评估和治理工程勘查、设计、施工、监理单位的资质条件，是否超越资质等级承揽项目，项目实施是否符合技术规范。",
		Class:      "general", DefaultRatio: "0.05", InspectorsRequired: intp(3), RequiredTags: []string{tagGeology},
		CrossStation: true, DepartmentCode: "DKC",
	},
	{
		Code: "ZR-13", Name: "公开地图及地图产品的检查", SubItem: "地图送审及审图号标注情况",
		ObjectKind: "product", ObjectTags: []string{"map"}, Methods: []string{"online", "testing"},
		LegalBasis: "《中华人民共和国测绘法》；《地图管理条例》第十五条",
		Content:    "检查公开出版、展示、登载的地图是否依法送审并标注审图号，是否存在国界线、行政区域界线表示错误或者泄露涉密信息等问题。",
		Class:      "general", DefaultRatio: "0.03", InspectorsRequired: intp(2), RequiredTags: []string{tagSurvey},
		DepartmentCode: "CHC",
	},
	{
		Code: "ZR-14", Name: "测绘成果管理与地理信息安全的联合检查", SubItem: "测绘成果汇交、保管、提供使用及地理信息数据安全情况",
		ObjectKind: "enterprise", ObjectTags: []string{"surveying"}, Methods: []string{"on_site", "written"},
		LegalBasis: "《中华人民共和国测绘法》第三十三条、第四十七条；《中华人民共和国测绘成果管理条例》",
		Content:    "测绘地理信息处与地理信息与数据服务处进一次门、查多项事：检查测绘成果是否依法汇交，涉密测绘成果的保管、提供使用是否符合保密规定，地理信息数据处理是否采取安全措施。",
		Class:      "general", DefaultRatio: "0.05", InspectorsRequired: intp(2), RequiredTags: []string{tagSurvey},
		DepartmentCode: "CHC", JointDepartments: []string{"DLXX"},
	},
}

// jointCounty is where the demo's departments have their own inspectors:
// 南湖区, where docs/demo-joint.sh runs its joint batch.
const jointCounty = "330402"

func init() {
	for i := range items {
		items[i].Authority = authority
		items[i].EffectiveFrom = EffectiveFrom
	}
}

// Name parts. Two characters of words make an enterprise's 字号.
var (
	words = []rune("华信宏达恒瑞禾源嘉盛联创天正博远新中鑫泰安通海汇科诚东方明德光辉永丰隆兴旭宇金凯立锦润和力睿弘策同精图智准卓越星航")
	// Jiaxing's common surnames come first and are drawn more often.
	surnames     = []rune("沈王张陈徐朱吴金李钱顾陆姚周褚杨黄刘赵孙马胡郭何范蒋戴许冯俞屠")
	givenNames   = []rune("建国明华伟芳丽军勇强磊洋静敏燕霞杰涛斌超鹏辉婷晨浩宇欣怡俊峰林倩玲晓雪红平春海文佳慧琳颖丹凯亮")
	villageChars = []rune("东西南北新联民胜利丰华星光庄塘浜桥港湾兴荡家马石祥云河荷花园红旗永安杨柳桑梅竹")
	roads        = []string{"中山路", "人民路", "解放路", "建设路", "文昌路", "新华路", "长水路", "广益路", "昌盛路", "南溪路", "勤俭路", "环城路", "商城路", "工业路", "创业路", "科技大道", "东方路", "富民路", "兴业路", "振兴路", "发展大道", "滨海大道", "经一路", "纬二路"}
	directions   = []string{"东", "南", "西", "北"}
	bigWorks     = []string{"通苏嘉甬铁路（嘉兴段）", "沪杭高速公路改扩建工程", "杭平申线航道整治工程", "嘉兴南站枢纽工程", "乍嘉苏高速公路改建工程", "东西大道延伸工程"}
	facilities   = []string{"智能制造产业园", "厂房扩建工程", "农民安置小区", "商住小区", "综合楼", "物流仓储中心", "研发中心", "标准厂房"}
	mapKinds     = []string{"城区地图", "旅游交通图", "行政区划图", "政务工作用图", "标准地图", "地名图"}
	// Reasons of declared conflicts (回避), by object kind.
	conflictCauses = map[string][]string{
		"enterprise": {"亲属关系（配偶在该单位任职）", "曾在该企业任职", "近三年曾为该单位提供咨询服务", "与法定代表人系近亲属", "持有该企业股份"},
		"project":    {"近亲属系该项目施工单位负责人", "曾参与该项目审批", "亲属关系（配偶在建设单位任职）"},
	}
)
