"""Power sensors on fixture trees and captured output in the real formats (docs/formats.md): INA3221 hwmon,
tegrastats, Raspberry Pi 5 PMIC, external meter CSV/command, RAPL wrap-around, NVML without a GPU.

Each sensor is exercised through probe/start/stop against files or tools that a helper rewrites at
known watts; the cases the issue names are here: counter wrap, missing rail, permission denied and an
empty sample window.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from suite.power.base import WindowError, choose_sensor, power_block, stop_reading
from suite.power.sampling import integrate
from tests.support import boards


@pytest.fixture
def sysroot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "root"
    root.mkdir()
    monkeypatch.setenv("EDGEQ_SYSROOT", str(root))
    return root


def measure(sensor, seconds: float):  # type: ignore[no-untyped-def]
    sensor.start()
    time.sleep(seconds)
    return sensor.stop()


# ---------------------------------------------------------------------------------- integration
def test_integrate_cuts_the_window_and_interpolates_edges() -> None:
    samples = [(0.0, 10.0), (1.0, 20.0), (2.0, 20.0), (3.0, 10.0)]
    energy, used = integrate(samples, 0.5, 2.5)
    # 0.5..1: 15->20 (8.75 J); 1..2: 20 J; 2..2.5: 20->15 (8.75 J)
    assert energy == pytest.approx(37.5)
    assert used == 4  # two edges + two samples inside


def test_integrate_refuses_an_empty_or_uncovered_window() -> None:
    with pytest.raises(WindowError, match="empty window"):
        integrate([(0.0, 1.0), (1.0, 1.0)], 1.0, 1.0)
    with pytest.raises(WindowError, match="1 sample"):
        integrate([(0.5, 1.0)], 0.0, 1.0)
    with pytest.raises(WindowError, match="cover"):
        integrate([(5.0, 1.0), (6.0, 1.0)], 0.0, 1.0)


# -------------------------------------------------------------------------------------- INA3221
def test_ina3221_integrates_vdd_in_at_known_watts(sysroot: Path) -> None:
    from suite.power.ina3221 import Ina3221Sensor, discover_rails

    boards.orin_nano(sysroot)
    hwmon = sysroot / "sys/bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon1"
    rails = discover_rails()
    assert set(rails) == {"VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC"}  # in7 (sum channel) skipped
    power = boards.SinePower(mean=6.0, amplitude=2.0, period_s=0.4)
    sensor = Ina3221Sensor(period_s=0.01)
    assert sensor.probe().ok
    with boards.drive_ina3221(hwmon, 1, power):
        reading = measure(sensor, 1.2)
    d = reading.detail
    expected = power.energy(d["t_start_unix"], d["t_end_unix"])
    assert reading.energy_j == pytest.approx(expected, rel=0.02)
    assert reading.boundary == "module_input" and reading.method == "integrated_samples"
    assert d["rails"] == ["VDD_IN"] and d["chip_update_interval_ms"] == 1100
    assert reading.samples > 20


def test_ina3221_hwmon_number_and_class_path_do_not_matter(sysroot: Path) -> None:
    from suite.power.ina3221 import discover_rails

    hwmon = boards.ina3221_channels(sysroot, "1-0040", 7, {1: ("VDD_IN", 5000, 1000)})
    cls = sysroot / "sys/class/hwmon/hwmon7"
    cls.parent.mkdir(parents=True)
    cls.symlink_to(hwmon)  # the same chip seen through /sys/class/hwmon: counted once
    assert list(discover_rails()) == ["VDD_IN"]
    assert discover_rails()["VDD_IN"].watts() == pytest.approx(5.0)


def test_ina3221_missing_rail_and_nc_channels(sysroot: Path) -> None:
    from suite.power.ina3221 import Ina3221Sensor, discover_rails

    boards.agx_orin(sysroot)
    assert "NC" not in discover_rails()
    probe = Ina3221Sensor().probe()  # AGX Orin has no VDD_IN
    assert probe.status == "unavailable"
    assert "no module-input rail" in probe.reason and "VDD_GPU_SOC" in probe.reason
    probe = Ina3221Sensor(rails=["VDD_GPU_SOC", "VDD_DLA"]).probe()
    assert probe.status == "unavailable" and "VDD_DLA not found" in probe.reason
    summed = Ina3221Sensor(rails=["VDD_GPU_SOC", "VDD_CPU_CV", "VIN_SYS_5V0", "VDDQ_VDD2_1V8AO"])
    assert summed.probe().ok
    reading = measure(summed, 0.2)
    assert reading.boundary == "partial_rails"
    assert reading.avg_w == pytest.approx(4.0 + 2.0 + 3.0 + 0.5, rel=1e-6)


def test_ina3221_not_a_jetson(sysroot: Path) -> None:
    from suite.power.ina3221 import Ina3221Sensor

    probe = Ina3221Sensor().probe()
    assert probe.status == "unavailable" and "no INA3221" in probe.reason


def test_ina3221_permission_denied_is_needs_privilege(sysroot: Path) -> None:
    from suite.power.ina3221 import Ina3221Sensor

    boards.orin_nano(sysroot)
    curr = sysroot / "sys/bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon1/curr1_input"
    with boards.unreadable(curr):
        probe = Ina3221Sensor().probe()
    assert probe.status == "needs_privilege"
    assert "chmod" in probe.hint or "root" in probe.hint


def test_ina3221_empty_window_is_an_honest_unavailable(sysroot: Path) -> None:
    """Every read fails during the window: no samples, so no number, and the record says why."""
    from suite.power.ina3221 import Ina3221Sensor

    boards.orin_nano(sysroot)
    curr = sysroot / "sys/bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon1/curr1_input"
    sensor = Ina3221Sensor(period_s=0.01)
    probe = sensor.probe()
    curr.write_text("")  # a rail that stops answering: every read is a ValueError
    sensor.start()
    result = stop_reading(sensor)
    assert isinstance(result, WindowError) and "0 readable sample" in str(result)
    block = power_block(sensor, probe, result, items=100)
    assert block["status"] == "unavailable" and block["energy_j"] is None
    assert "ina3221" in block["reason"]


# ----------------------------------------------------------------------------------- tegrastats
ORIN_LINE = (
    "RAM 2448/7620MB (lfb 1x4MB) SWAP 0/3810MB (cached 0MB) CPU [1%@729,0%@729,0%@729,0%@729,off,off] "
    "EMC_FREQ 0% GR3D_FREQ 0% cpu@47.5C soc2@46.1C soc0@46.9C gpu@47.2C tj@47.5C soc1@46.6C "
    "VDD_IN 4854mW/4854mW VDD_CPU_GPU_CV 480mW/480mW VDD_SOC 1441mW/1441mW"
)
JP4_LINE = (
    "RAM 2000/3964MB (lfb 197x4MB) SWAP 0/1982MB (cached 0MB) CPU [3%@1479,1%@1479,0%@1479,0%@1479] "
    "EMC_FREQ 0% GR3D_FREQ 0% PLL@33C CPU@35.5C PMIC@100C GPU@34C AO@41.5C thermal@34.75C "
    "POM_5V_IN 2007/2007 POM_5V_GPU 0/0 POM_5V_CPU 403/403"
)


def test_tegrastats_parser_reads_current_values_not_averages() -> None:
    from suite.power.tegrastats import parse_line

    assert parse_line(ORIN_LINE) == {"VDD_IN": (4854, 4854), "VDD_CPU_GPU_CV": (480, 480), "VDD_SOC": (1441, 1441)}
    assert parse_line(JP4_LINE) == {"POM_5V_IN": (2007, 2007), "POM_5V_GPU": (0, 0), "POM_5V_CPU": (403, 403)}
    assert parse_line("RAM 2448/7620MB SWAP 0/3810MB") == {}


def test_tegrastats_sensor_runs_the_tool_and_integrates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from suite.power.tegrastats import TegrastatsSensor

    bin_dir = tmp_path / "bin"
    # The fake prints the Orin format every --interval ms, VDD_IN at a known function of time.
    boards.fake_tool(
        bin_dir,
        "tegrastats",
        """
        import math, sys, time
        interval = int(sys.argv[sys.argv.index("--interval") + 1]) / 1000
        while True:
            now = time.time()
            mw = round(5000 + 1500 * math.sin(2 * math.pi * now / 0.8))
            print(f"RAM 2448/7620MB (lfb 1x4MB) CPU [1%@729,off] cpu@47.5C VDD_IN {mw}mW/5000mW VDD_SOC 1441mW/1441mW", flush=True)
            time.sleep(interval)
    """,
    )
    monkeypatch.setenv("PATH", f"{bin_dir}:{Path('/usr/bin')}:{Path('/bin')}")
    power = boards.SinePower(5.0, 1.5, 0.8)
    sensor = TegrastatsSensor(interval_ms=20)
    assert sensor.probe().ok
    reading = measure(sensor, 1.0)
    d = reading.detail
    assert d["rails"] == ["VDD_IN"] and reading.boundary == "module_input"
    assert reading.energy_j == pytest.approx(power.energy(d["t_start_unix"], d["t_end_unix"]), rel=0.03)


def test_tegrastats_missing_rail_and_missing_tool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from suite.power.tegrastats import TegrastatsSensor

    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    assert TegrastatsSensor().probe().status == "unavailable"
    bin_dir = tmp_path / "bin"
    boards.fake_tool(
        bin_dir,
        "tegrastats",
        f"""
        import time
        while True:
            print({JP4_LINE!r}, flush=True)
            time.sleep(0.02)
    """,
    )
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    sensor = TegrastatsSensor(rails=["VDD_GPU_SOC"])
    with pytest.raises(WindowError, match="VDD_GPU_SOC"):
        sensor.start()


# ------------------------------------------------------------------------------ Raspberry Pi 5
PMIC_OUTPUT = """\
     3V7_WL_SW_A current(0)=0.00390372A
       3V3_SYS_A current(1)=0.05171414A
       1V8_SYS_A current(2)=0.16393760A
      DDR_VDD2_A current(3)=0.02049390A
      DDR_VDDQ_A current(4)=0.00000000A
       1V1_SYS_A current(5)=0.18151740A
       0V8_SYS_A current(6)=0.33187800A
      VDD_CORE_A current(7)=0.74360580A
       3V3_DAC_A current(17)=0.00048840A
       3V3_ADC_A current(18)=0.00042740A
       0V8_AON_A current(16)=0.00537240A
          HDMI_A current(22)=0.02185720A
     3V7_WL_SW_V volt(8)=3.74432400V
       3V3_SYS_V volt(9)=3.30013800V
       1V8_SYS_V volt(10)=1.79951400V
      DDR_VDD2_V volt(11)=1.11028800V
      DDR_VDDQ_V volt(12)=0.60439920V
       1V1_SYS_V volt(13)=1.11003000V
       0V8_SYS_V volt(14)=0.80073240V
      VDD_CORE_V volt(15)=0.72083880V
       3V3_DAC_V volt(20)=3.30769200V
       3V3_ADC_V volt(21)=3.30769200V
       0V8_AON_V volt(19)=0.79951140V
          HDMI_V volt(23)=5.15590400V
         EXT5V_V volt(24)=5.12958000V
          BATT_V volt(25)=0.00000000V
"""


def test_pmic_parser_pairs_currents_with_voltages() -> None:
    from suite.power.rpi_pmic import parse_pmic

    rails, voltage_only = parse_pmic(PMIC_OUTPUT)
    assert len(rails) == 12
    assert rails["VDD_CORE"] == pytest.approx(0.74360580 * 0.72083880)
    assert voltage_only == ["BATT", "EXT5V"]  # board input: a voltage, no current


def test_pmic_sensor_is_partial_rails_and_says_what_is_not_measured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from suite.power.rpi_pmic import RpiPmicSensor, parse_pmic

    bin_dir = tmp_path / "bin"
    boards.fake_tool(
        bin_dir,
        "vcgencmd",
        f"""
        import sys
        if sys.argv[1:] == ["pmic_read_adc"]:
            print({PMIC_OUTPUT!r}, end="")
        else:
            print('error=1 error_msg="Command not registered"'); sys.exit(255)
    """,
    )
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    sensor = RpiPmicSensor(period_s=0.05)  # capped at 10 Hz
    assert sensor.period_s == pytest.approx(0.1)
    assert sensor.probe().ok
    reading = measure(sensor, 0.5)
    total = sum(parse_pmic(PMIC_OUTPUT)[0].values())
    assert reading.avg_w == pytest.approx(total, rel=1e-6)
    assert reading.boundary == "partial_rails"
    assert "EXT5V" in reading.detail["not_measured"]


def test_pmic_on_a_pi4_and_without_the_video_group(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from suite.power.rpi_pmic import RpiPmicSensor

    bin_dir = tmp_path / "bin"
    boards.fake_tool(
        bin_dir,
        "vcgencmd",
        """
        print('error=1 error_msg="Command not registered"')
    """,
    )
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    probe = RpiPmicSensor().probe()
    assert probe.status == "unavailable" and "Raspberry Pi 5" in probe.reason
    boards.fake_tool(
        bin_dir,
        "vcgencmd",
        """
        import sys
        print("Can't open device file: /dev/vcio", file=sys.stderr); sys.exit(255)
    """,
    )
    probe = RpiPmicSensor().probe()
    assert probe.status == "needs_privilege" and "video" in probe.hint


# ------------------------------------------------------------------------------ external meter
def test_external_csv_parser_formats() -> None:
    from suite.power.external import parse_csv

    samples, bad = parse_csv("timestamp,watts\n1718000000.0,5.0\n1718000000.5,7.0\n1718000001.0,not-a-number\n")
    assert samples == [(1718000000.0, 5.0), (1718000000.5, 7.0)] and bad == 1
    samples, _ = parse_csv("time,voltage,current\n2024-06-10T06:13:20Z,5.0,1.2\n")
    assert samples == [(1718000000.0, pytest.approx(6.0))]
    with pytest.raises(ValueError, match="no time column"):
        parse_csv("when,watts\n1,2\n")
    with pytest.raises(ValueError, match="no power column"):
        parse_csv("timestamp,volts\n1,2\n")


def test_external_csv_sensor_integrates_a_live_log(tmp_path: Path) -> None:
    from suite.power.external import ExternalMeterSensor

    log = tmp_path / "meter.csv"
    power = boards.SinePower(7.0, 2.5, 0.6)
    with boards.drive_csv(log, power, period_s=0.02):
        sensor = ExternalMeterSensor(csv=str(log), settle_s=2.0)
        assert sensor.probe().ok
        reading = measure(sensor, 1.0)
    d = reading.detail
    assert reading.energy_j == pytest.approx(power.energy(d["t_start_unix"], d["t_end_unix"]), rel=0.02)
    assert reading.boundary == "board_input"


def test_external_csv_empty_window_and_missing_file(tmp_path: Path) -> None:
    from suite.power.external import ExternalMeterSensor

    log = tmp_path / "meter.csv"
    assert ExternalMeterSensor(csv=str(log)).probe().status == "unavailable"
    log.write_text("timestamp,watts\n1000.0,5.0\n1001.0,5.0\n")  # a stale log: nothing near now
    sensor = ExternalMeterSensor(csv=str(log), settle_s=0.2)
    sensor.start()
    result = stop_reading(sensor)
    assert isinstance(result, WindowError) and "no meter rows within the window" in str(result)
    with boards.unreadable(log):
        probe = ExternalMeterSensor(csv=str(log)).probe()
    assert probe.status == "needs_privilege"


def test_external_command_meter(tmp_path: Path) -> None:
    from suite.power.external import ExternalMeterSensor

    script = boards.fake_tool(
        tmp_path / "bin",
        "meter",
        """
        import time
        while True:
            print("4.5", flush=True)
            time.sleep(0.02)
    """,
    )
    sensor = ExternalMeterSensor(command=str(script), settle_s=2.0)
    assert sensor.probe().ok
    reading = measure(sensor, 0.5)
    assert reading.avg_w == pytest.approx(4.5, rel=1e-6)


def test_external_meter_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from suite.errors import BadInput
    from suite.power.external import ExternalMeterSensor

    monkeypatch.setenv("EDGEQ_METER_CSV", str(tmp_path / "m.csv"))
    monkeypatch.setenv("EDGEQ_METER_BOUNDARY", "wall")
    sensor = ExternalMeterSensor()
    assert sensor.csv_path == str(tmp_path / "m.csv") and sensor.boundary == "wall"
    monkeypatch.setenv("EDGEQ_METER_BOUNDARY", "the plug")
    with pytest.raises(BadInput, match="EDGEQ_METER_BOUNDARY"):
        ExternalMeterSensor()


# ------------------------------------------------------------------------------------------ RAPL
def test_rapl_counts_wraps_and_skips_subdomains(sysroot: Path) -> None:
    from suite.power.rapl import RaplSensor

    max_range = 3_000_000  # 3 J: at ~12 W the counter wraps every ~0.25 s
    boards.rapl(sysroot, max_range)
    power = boards.SinePower(12.0, 3.0, 0.5)
    sensor = RaplSensor(poll_s=0.05)
    with boards.drive_rapl(sysroot, power, max_range, start=time.time()):
        assert sensor.probe().ok
        reading = measure(sensor, 1.0)
    d = reading.detail
    assert d["domains"] == ["package-0"] and d["wraps"] >= 2
    assert reading.energy_j == pytest.approx(power.energy(d["t_start_unix"], d["t_end_unix"]), rel=0.02)


def test_rapl_permission_denied_is_needs_privilege(sysroot: Path) -> None:
    from suite.power.rapl import RaplSensor

    boards.rapl(sysroot, 2**32)
    with boards.unreadable(sysroot / "sys/class/powercap/intel-rapl:0/energy_uj"):
        probe = RaplSensor().probe()
    assert probe.status == "needs_privilege" and "CVE-2020-8694" in probe.hint


# ------------------------------------------------------------------------------------------ NVML
def test_nvml_without_a_gpu_says_why() -> None:
    from suite.power.nvml import NvmlSensor

    probe = NvmlSensor().probe()
    assert probe.status == "unavailable"
    assert "nvidia-ml-py" in probe.reason or "NVML" in probe.reason


@pytest.mark.gpu
def test_nvml_energy_on_a_gpu() -> None:
    pytest.importorskip("pynvml")
    from suite.power.nvml import NvmlSensor

    sensor = NvmlSensor()
    if not sensor.probe().ok:
        pytest.skip(f"no NVML GPU here: {sensor.probe().reason}")
    reading = measure(sensor, 1.0)
    assert reading.energy_j > 0 and reading.boundary == "gpu_board"


# ------------------------------------------------------------------------------ sensor choice
def test_choose_sensor_keeps_profile_order_and_privilege_hints(sysroot: Path) -> None:
    from suite.config.schemas import PowerSpec

    boards.rapl(sysroot, 2**32)
    boards.orin_nano(sysroot)
    sensor, probe = choose_sensor(["ina3221", "rapl", "none"])
    assert sensor is not None and sensor.name == "ina3221" and probe.ok
    sensor, probe = choose_sensor([PowerSpec(name="ina3221", options={"rails": ["VDD_SOC"]}), "none"])
    assert sensor is not None and probe.ok
    with boards.unreadable(sysroot / "sys/class/powercap/intel-rapl:0/energy_uj"):
        sensor, probe = choose_sensor(["rapl", "external", "none"])
    assert probe.status == "needs_privilege" and "rapl" in probe.reason and "external" in probe.reason
