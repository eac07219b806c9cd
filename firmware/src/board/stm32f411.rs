//! An STM32F411 (e.g. a Black Pill or Nucleo-F411RE): USART2 on PA2 (TX) / PA3 (RX) through
//! stm32f4xx-hal, SysTick at the 100 MHz core clock counting cycles. It proves the application
//! is portable; it builds and links but is not run by the tests.

use embedded_hal_nb::serial::{Read as NbRead, Write as NbWrite};
use stm32f4xx_hal::pac;
use stm32f4xx_hal::prelude::*;
use stm32f4xx_hal::rcc::Config as RccConfig;
use stm32f4xx_hal::serial::config::Config as SerialConfig;

use super::cortex_m::{sleep_until, Irq};
use super::systick::{SysTickClock, TickScale};
use super::uart_report::report_on_uart;
use super::Board;
use crate::clock::TickUnit;
use crate::idle::WaitForInput;

pub use super::cortex_m::reset_or_park as exit;

/// The board's name in reports.
pub const NAME: &str = "stm32f411";

/// The serial line's baud rate.
const BAUD: u32 = 115_200;
/// Core clock: the F411's maximum, from the internal oscillator through the PLL.
const SYSCLK_MHZ: u32 = 100;
/// USART2's interrupt line (the reference manual's position 38).
const USART2_IRQ: Irq = Irq(38);

/// The board's serial port: USART2, wrapped so reads and writes block as `embedded-io` requires.
pub struct Usart2 {
    serial: stm32f4xx_hal::serial::Serial<pac::USART2>,
}

/// The serial port type of this board.
pub type Serial = Usart2;

impl embedded_io::ErrorType for Usart2 {
    type Error = stm32f4xx_hal::serial::Error;
}

impl embedded_io::Read for Usart2 {
    /// Waits (asleep) for the first byte, then takes whatever else has already arrived.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let mut slots = buf.iter_mut();
        let Some(first) = slots.next() else {
            return Ok(0);
        };
        *first = loop {
            match NbRead::read(&mut self.serial) {
                Ok(byte) => break byte,
                Err(nb::Error::WouldBlock) => self.sleep_until_input(),
                Err(nb::Error::Other(e)) => return Err(e),
            }
        };
        let mut count = 1;
        for slot in slots {
            match NbRead::read(&mut self.serial) {
                Ok(byte) => *slot = byte,
                Err(nb::Error::WouldBlock) => break,
                Err(nb::Error::Other(e)) => return Err(e),
            }
            count += 1;
        }
        Ok(count)
    }
}

impl Usart2 {
    /// A byte waits in the receive register.
    fn rx_full(&self) -> bool {
        // SAFETY: reads USART2's status register only; `self` owns the port.
        let usart = unsafe { &*pac::USART2::ptr() };
        usart.sr().read().rxne().bit_is_set()
    }
}

impl embedded_io::ReadReady for Usart2 {
    fn read_ready(&mut self) -> Result<bool, Self::Error> {
        Ok(self.rx_full())
    }
}

impl WaitForInput for Usart2 {
    /// The RXNE interrupt (enabled in `init`) stays raised until the byte is read.
    fn sleep_until_input(&mut self) {
        sleep_until(USART2_IRQ, || self.rx_full());
    }
}

impl embedded_io::Write for Usart2 {
    /// Waits until the transmitter takes the first byte, then sends as many more as it takes
    /// without waiting.
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        let mut bytes = buf.iter();
        let Some(&first) = bytes.next() else {
            return Ok(0);
        };
        nb::block!(NbWrite::write(&mut self.serial, first))?;
        let mut count = 1;
        for &byte in bytes {
            match NbWrite::write(&mut self.serial, byte) {
                Ok(()) => count += 1,
                Err(nb::Error::WouldBlock) => break,
                Err(nb::Error::Other(e)) => return Err(e),
            }
        }
        Ok(count)
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        nb::block!(NbWrite::flush(&mut self.serial))
    }
}

/// Takes the board's peripherals and sets up clocks, USART2 and SysTick; `None` if the
/// peripherals were taken before or the serial configuration is rejected.
pub fn init() -> Option<Board> {
    let core = cortex_m::Peripherals::take()?;
    let device = pac::Peripherals::take()?;
    let mut rcc = device.RCC.freeze(RccConfig::hsi().sysclk(SYSCLK_MHZ.MHz()));
    let gpioa = device.GPIOA.split(&mut rcc);
    let serial = device
        .USART2
        .serial(
            (gpioa.pa2, gpioa.pa3),
            SerialConfig::default().baudrate(BAUD.bps()),
            &mut rcc,
        )
        .ok()?;
    // SAFETY: sets RXNEIE only; the line stays masked in the NVIC except while sleeping.
    unsafe { &*pac::USART2::ptr() }
        .cr1()
        .modify(|_, w| w.rxneie().set_bit());
    Some(Board {
        serial: Usart2 { serial },
        clock: SysTickClock::start(core.SYST, TickScale::whole(1), TickUnit::Cycles),
    })
}

/// Prints a panic report (one line, without its line break) on USART2.
pub(crate) fn report_panic(report: &[u8]) {
    // SAFETY: the program is ending; nothing else uses USART2 any more.
    let usart = unsafe { &*pac::USART2::ptr() };
    report_on_uart(
        report,
        || usart.sr().read().txe().bit_is_set(),
        |byte| {
            usart.dr().write(|w| w.dr().set(u16::from(byte)));
        },
    );
}
