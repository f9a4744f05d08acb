"""Power sensors: ``probe()`` says whether a sensor can measure here; ``start()``/``stop()`` give energy.

Run side: imports nothing heavy. Energy is recorded only when a sensor measured it. ``PLUGINS`` is the
one place a built-in sensor's listing is written; its boundary and method are properties of the sensor
class (they go into every reading it makes).
"""

PLUGINS: dict[str, tuple[str, dict[str, object]]] = {
    "rapl": ("rapl:RaplSensor", dict(summary="Intel/AMD RAPL via powercap (cpu_package)")),
    "ina3221": ("ina3221:Ina3221Sensor", dict(summary="Jetson INA3221 rails via hwmon sysfs (VDD_IN = module input)")),
    "tegrastats": (
        "tegrastats:TegrastatsSensor",
        dict(summary="Jetson tegrastats rail readings (fallback; module input)"),
    ),
    "rpi5-pmic": (
        "rpi_pmic:RpiPmicSensor",
        dict(summary="Raspberry Pi 5 PMIC rails via vcgencmd (partial rails; board input not measured)"),
    ),
    "nvml": ("nvml:NvmlSensor", dict(summary="NVIDIA GPU energy counter / power via NVML (gpu_board)")),
    "external": (
        "external:ExternalMeterSensor",
        dict(summary="external meter: CSV log or command of timestamped watts (board input)"),
    ),
    "none": ("none:NoSensor", dict(summary="no power measurement")),
}
